"""`oasis backup` while reports and APs are being written, `oasis restore` on a fresh folder:
everything is back and the restored key decrypts the secrets."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import threading

import pytest
from click.testing import CliRunner

from captive_portal import gateways
from captive_portal.reports import outbox, records
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.photos import Photo
from controller import auth, backup
from controller.cli import cli
from core import inventory
from core.config import load_config
from core.secrets import SecretBox
from core.store import Store

CONFIG = """\
[store]
path = "var/oasis.db"
key_file = "secret/oasis.key"
[portal]
secret_key_file = "secret/portal.key"
"""


def _site(store: Store) -> None:
    inventory.add_site(store, {"slug": "north-park", "name_ar": "الحديقة الشمالية",
                               "name_en": "North Park", "kind": "park"}, "test")


def _ap(store: Store, box: SecretBox, n: int) -> None:
    inventory.add_ap(store, box, {
        "name": f"ap-{n}", "mac": f"02:00:00:00:{n // 256:02x}:{n % 256:02x}",
        "mgmt_ip": f"10.1.{n // 250}.{n % 250 + 1}", "platform": "openwrt", "site": "north-park",
        "snmp_community": f"community-{n}", "ssh_password": f"ssh-pass-{n}"}, "test")


def _report(store: Store, config: ReportsConfig, n: int, photo: bool = False) -> int:
    photos = [Photo(token=f"photo-{n}", mime="image/jpeg", width=4, height=3, gps=None,
                    data=b"\xff\xd8jpeg" + bytes([n % 256]) * 64)] if photo else []
    return file_report(store, NewReport(category="lighting", description=f"Lamp {n} is out",
                                        channel="open311", lat=25.3, lon=49.5, photos=photos),
                       config).id


@pytest.fixture
def running(tmp_path):
    """A controller's folder: config, store with inventory, users, reports, a gateway."""
    home = tmp_path / "old-host"
    home.mkdir()
    (home / "oasis.toml").write_text(CONFIG)
    store = Store(home / "var/oasis.db")
    box = SecretBox.from_key_file(home / "secret/oasis.key")
    (home / "secret/portal.key").write_bytes(b"portal-signing-key")
    os.chmod(home / "secret/portal.key", 0o600)
    _site(store)
    for n in range(3):
        _ap(store, box, n)
    auth.create_user(store, "amal", "a long admin password", "admin", "test")
    gateway_key = gateways.register_gateway(store, box, "gw-north", "North gate",
                                            site="north-park")
    config = ReportsConfig()
    first = _report(store, config, 0, photo=True)
    with store.transaction() as conn:
        outbox.acknowledge(conn, [records.get_report(store, report_id=first).tracking], 1.0e9)
    yield home, store, box, gateway_key
    store.close()


def test_a_backup_taken_while_writing_restores_everything_on_a_fresh_folder(running, tmp_path):
    home, _store, box, gateway_key = running
    stop, written = threading.Event(), {"reports": 0, "aps": 0}

    def writer() -> None:  # the portal and an operator at work while the backup runs
        own = Store(home / "var/oasis.db")
        n, config = 100, ReportsConfig()
        while not stop.is_set():
            _report(own, config, n)
            written["reports"] += 1
            _ap(own, box, n)
            written["aps"] += 1
            n += 1
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # Let the writer get going so the copy is taken in the middle of its work.
        while written["aps"] < 3:
            thread.join(0.01)
        archive = tmp_path / "backups/oasis-1.tar.gz"
        result = CliRunner().invoke(cli, ["--config", str(home / "oasis.toml"), "backup",
                                          str(archive)])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "manifest.json"
        assert {m.mode for m in tar.getmembers()} == {0o600}
    manifest = backup.read_manifest(archive)
    assert {e.key for e in manifest.files} == {"store.path", "store.key_file",
                                               "portal.secret_key_file", "config"}

    fresh = tmp_path / "new-host"
    result = CliRunner().invoke(cli, ["--config", str(fresh / "oasis.toml"), "restore",
                                      str(archive)])
    assert result.exit_code == 0, result.output
    for path in (fresh / "oasis.toml", fresh / "var/oasis.db", fresh / "secret/oasis.key",
                 fresh / "secret/portal.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert (fresh / "secret/portal.key").read_bytes() == b"portal-signing-key"

    restored = Store(fresh / "var/oasis.db")
    new_box = SecretBox.from_key_file(fresh / "secret/oasis.key", create=False)
    aps = inventory.list_aps(restored)
    # A consistent copy: each pass of the writer adds one report then one AP, so the copy
    # holds as many reports past the first as APs past the first three (or one more).
    reports = restored.conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert len(aps) - 3 in (reports - 1, reports - 2)
    assert 3 <= len(aps) <= 3 + written["aps"]
    for ap in aps:
        n = int(ap["name"].split("-")[1])
        assert inventory.ap_secrets(restored, new_box, ap["id"])["ssh_password"] == \
            f"ssh-pass-{n}"
    assert gateways.gateway_key(restored, new_box, "gw-north") == gateway_key.encode()
    assert auth.authenticate(restored, "amal", "a long admin password") is not None
    first = records.get_report(restored, report_id=1)
    assert first.status == "forwarded"
    assert [m.state for m in outbox.of_report(restored, 1)] == ["acknowledged"]
    assert records.photo(restored, "photo-0")[1].startswith(b"\xff\xd8jpeg")
    assert restored.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored.close()


def test_restore_refuses_a_live_store_and_a_damaged_archive(running, tmp_path):
    home, store, _box, _key = running
    archive = tmp_path / "b.tar.gz"
    backup.create(load_config(home / "oasis.toml", env={}), archive)
    # Restoring over the store it came from: refused unless forced.
    with pytest.raises(backup.BackupError, match="--force"):
        backup.restore(archive, home / "oasis.toml")
    inventory.remove_ap(store, "ap-2", "test")
    done = backup.restore(archive, home / "oasis.toml", force=True)
    assert done.aps_checked == 3
    assert inventory.get_ap(store, "ap-2")["name"] == "ap-2"  # the open connection sees it
    # One flipped byte in the store member: refused before anything is written.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "store/oasis.db":
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data))
    fresh = tmp_path / "elsewhere"
    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(damaged, fresh / "oasis.toml")
    assert not (fresh / "oasis.toml").exists()
