"""The SSH transport against a real OpenSSH server (netmiko ``linux``), with the hostapd-file
driver: push, read back, diff, drift, rollback on each kind of failure, host key change.

sshd runs as root on a free port with a throw-away host key and an authorized_keys file in the
test's temporary folder (key login for root: no system account or password is touched).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core import inventory
from netconfig import backups, drift, hostkeys, variables
from netconfig.push import Provisioner
from netconfig.settings import ProvisioningConfig
from tests.support import free_port, require_root, require_tool, wait_for_tcp

SSID_VARS = {"radios": {"2g": {"channel": 11, "tx_power": 15}},
             "ssids": [{"id": "public", "ssid": "واي فاي الأمانة", "security": "wpa2",
                        "passphrase": "amanah-park-2026"}]}


class OpenSsh:
    """One sshd; `restart(new_host_key=True)` swaps its host key as a replaced device would."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.sshd = require_tool("sshd")
        self.keygen = require_tool("ssh-keygen")
        self.client_key = folder / "client_ed25519"
        self._keygen(self.client_key)
        (folder / "authorized_keys").write_text((folder / "client_ed25519.pub").read_text())
        self.host_key = folder / "host_ed25519"
        self._keygen(self.host_key)
        (folder / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {folder}/sshd.pid\nAuthorizedKeysFile {folder}/authorized_keys\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPrintMotd no\n"
            "PrintLastLog no\nMaxStartups 100\n")
        self.process: subprocess.Popen | None = None

    def _keygen(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        Path(f"{path}.pub").unlink(missing_ok=True)
        subprocess.run([self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                       check=True)

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # privilege separation directory
        self.process = subprocess.Popen([self.sshd, "-D", "-e", "-f",
                                         str(self.folder / "sshd_config")],
                                        stderr=subprocess.DEVNULL)
        wait_for_tcp("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, new_host_key: bool = False) -> None:
        self.stop()
        if new_host_key:
            self._keygen(self.host_key)
        self.start()


@pytest.fixture
def openssh(tmp_path):
    require_root()
    server = OpenSsh(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def linux_ap(openssh, store, secrets, tmp_path):
    inventory.add_site(store, {"slug": "lab", "name_ar": "مختبر", "name_en": "Lab",
                               "kind": "park"}, "test")
    ap = inventory.add_ap(store, secrets, {
        "name": "linux-ap", "mac": "02:00:00:00:00:01", "mgmt_ip": "127.0.0.1",
        "platform": "generic", "site": "lab", "ssh_port": openssh.port, "ssh_username": "root"},
        "test")
    config_file = tmp_path / "hostapd" / "oasis.conf"
    variables.set_layer(store, secrets, "ap", ap["id"],
                        SSID_VARS | {"config_path": str(config_file)}, "test")
    settings = ProvisioningConfig(ssh_key_file=str(openssh.client_key), snmp_check=False,
                                  ssh_connect_timeout=1.5, ssh_command_timeout=2.0,
                                  rollback_window=15.0)
    prov = Provisioner(store, secrets, settings)
    return prov, ap, config_file


def set_ap_vars(prov: Provisioner, ap: dict, **extra) -> None:
    layer = variables.get_layer(prov.store, prov.box, "ap", ap["id"])
    variables.set_layer(prov.store, prov.box, "ap", ap["id"], layer | extra, "test")


def test_push_reads_back_and_is_idempotent(linux_ap):
    prov, ap, config_file = linux_ap
    outcome = prov.push(ap["id"], "engineer")
    assert outcome.status == "succeeded", outcome
    text = config_file.read_text()
    assert 'ssid2=P"واي فاي الأمانة"' in text and "channel=11" in text
    assert "wpa_passphrase=amanah-park-2026" in text
    assert "amanah-park-2026" not in outcome.diff       # passphrases never reach the audit log
    assert prov.push(ap["id"], "engineer").status == "unchanged"
    assert hostkeys.pinned(prov.store, ap["id"])["fingerprint"].startswith("SHA256:")


def test_drift_and_diff_between_versions(linux_ap):
    prov, ap, config_file = linux_ap
    prov.push(ap["id"], "engineer")
    config_file.write_text(config_file.read_text().replace("channel=11", "channel=1"))
    result = drift.check(prov, ap["id"])
    assert result.drifted and "-channel=1\n" in result.diff and "+channel=11\n" in result.diff
    assert [a["kind"] for a in drift.open_alerts(prov.store)] == ["config_drift"]
    versions = [v["version"] for v in backups.history(prov.store, ap["id"])]
    newest, previous = versions[0], versions[1]
    old = backups.body(prov.store, prov.box, ap["id"], previous)
    new = backups.body(prov.store, prov.box, ap["id"], newest)
    assert "+channel=1\n" in backups.unified_diff(old, new, "a", "b")


def _base_then(prov, ap, config_file, **change) -> str:
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    base = config_file.read_text()
    set_ap_vars(prov, ap, ssids=[{"id": "public", "ssid": "Changed"}], **change)
    return base


def _fault_script(config_file: Path, text: str) -> str:
    """A reload command that runs ``text`` on the AP: a reload_command is one plain command
    (validation refuses shell operators), so a fault that needs them lives in a script."""
    script = config_file.parent.parent / "fault.sh"
    script.write_text(text + "\n")
    return f"sh {script}"


def test_timeout_mid_push_rolls_back(linux_ap):
    prov, ap, config_file = linux_ap
    base = _base_then(prov, ap, config_file, reload_command="sleep 30")
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("rolled_back", "apply"), outcome
    assert config_file.read_text() == base


def test_config_that_does_not_read_back_rolls_back(linux_ap):
    prov, ap, config_file = linux_ap
    base = _base_then(prov, ap, config_file, reload_command=_fault_script(
        config_file, f"echo tampered >> {config_file}"))
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("rolled_back", "post-check"), outcome
    assert "differs" in outcome.message and config_file.read_text() == base


def test_unreachable_after_apply_rolls_back_when_it_returns(linux_ap, openssh):
    prov, ap, config_file = linux_ap
    pid = openssh.process.pid
    # The "reload" freezes the SSH listener (before its prompt returns) and a detached shell
    # thaws it four seconds later (well past the 1.5 s connect timeout), as a device whose
    # management path flaps after a change would. This session lives in its own sshd child and
    # is not frozen.
    base = _base_then(prov, ap, config_file, reload_command=_fault_script(config_file, (
        f"kill -STOP {pid}; setsid sh -c 'sleep 4; kill -CONT {pid}' >/dev/null 2>&1 &")))
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("rolled_back", "post-check"), outcome
    assert config_file.read_text() == base


def test_changed_host_key_is_refused_until_accepted(linux_ap, openssh):
    prov, ap, config_file = linux_ap
    prov.push(ap["id"], "engineer")
    set_ap_vars(prov, ap, ssids=[{"id": "public", "ssid": "After swap"}])
    openssh.restart(new_host_key=True)
    outcome = prov.push(ap["id"], "engineer")
    assert outcome.status == "failed" and "new SSH host key" in outcome.message
    assert "After swap" not in config_file.read_text()
    pending = hostkeys.pinned(prov.store, ap["id"])["pending_fingerprint"]
    hostkeys.accept(prov.store, ap, pending, "engineer")
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    assert "After swap" in config_file.read_text()


# --- device inputs that used to reach the file (issue "Hardening", defects 17 and 18) --------

def test_line_separator_in_an_ssid_never_becomes_a_hostapd_setting(linux_ap):
    prov, ap, config_file = linux_ap
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    base = config_file.read_text()
    set_ap_vars(prov, ap, ssids=[{"id": "public", "ssid": "Amanah\u2028max_num_sta=1"}])
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("failed", "render"), outcome
    assert "U+2028" in outcome.message
    assert config_file.read_text() == base
    assert "max_num_sta" not in base


def test_a_separator_already_in_the_file_stays_inside_its_line(linux_ap):
    # Someone put U+2028 in the SSID by hand: it is one line to hostapd (fgets reads to LF), so
    # it is one line to the driver too: drift shows it, a push replaces it, nothing is split.
    prov, ap, config_file = linux_ap
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    text = config_file.read_text()
    config_file.write_text(text.replace('ssid2=P"', 'ssid2=P"x\u2028max_num_sta=1 '))
    result = drift.check(prov, ap["id"])
    assert result.drifted
    assert "\n-ssid2=P\"x\u2028max_num_sta=1 " in result.diff
    assert "\n-max_num_sta=1" not in result.diff
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    assert config_file.read_text() == text


def test_passphrase_with_trailing_spaces_is_refused_not_trimmed(linux_ap):
    prov, ap, config_file = linux_ap
    assert prov.push(ap["id"], "engineer").status == "succeeded"
    base = config_file.read_text()
    set_ap_vars(prov, ap, ssids=[{"id": "public", "ssid": "Amanah", "security": "wpa2",
                                  "passphrase": "amanah-park-2026  "}])
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("failed", "render"), outcome
    assert "ssids[0].passphrase" in outcome.message and config_file.read_text() == base


# Paths stay inside the test's folder: were the check to regress, a push would write there (a
# hostapd file over /etc/shadow is exactly what an unrestricted config_path allowed).
@pytest.mark.parametrize("extra, field", [
    ({"config_path": "{folder}/shadow"}, "config_path"),
    ({"config_path": "{folder}/../escaped.conf"}, "config_path"),
    ({"config_path": "{folder}/with space.conf"}, "config_path"),
    ({"reload_command": "touch {folder}/ran; touch {folder}/injected"}, "reload_command"),
    ({"reload_command": "touch {folder}/ran\nmax_num_sta=1"}, "reload_command"),
    ({"reload_command": "touch {folder}/$(id -u)"}, "reload_command"),
])
def test_config_path_and_reload_command_are_restricted(linux_ap, extra, field):
    prov, ap, config_file = linux_ap
    folder = config_file.parent
    set_ap_vars(prov, ap, **{k: v.format(folder=folder) for k, v in extra.items()})
    outcome = prov.push(ap["id"], "engineer")
    assert (outcome.status, outcome.stage) == ("failed", "render"), outcome
    assert outcome.message.startswith(f"{field}:")
    assert not folder.exists() and not (folder.parent / "escaped.conf").exists()


def test_dry_run_commands_mask_the_passphrase(linux_ap):
    prov, ap, config_file = linux_ap
    set_ap_vars(prov, ap, ssids=[{"id": "public", "ssid": "Amanah", "security": "wpa2",
                                  "passphrase": "it's-amanah-2026"}],
                reload_command="systemctl reload hostapd")
    outcome = prov.push(ap["id"], "engineer", dry_run=True)
    assert outcome.status == "dry_run", outcome
    shown = "\n".join(outcome.commands)
    assert "'wpa_passphrase=********'" in shown, shown
    assert "amanah-2026" not in shown and "amanah-2026" not in outcome.diff
    assert not config_file.exists()
