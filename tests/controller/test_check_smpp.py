"""``oasis check`` with the smpp driver: a bind the SMSC accepts (nothing sent), a refused
password named by its keys (and never shown), and an SMSC that is not there."""

from __future__ import annotations

from click.testing import CliRunner

from controller.cli import cli
from core.secrets import SecretBox
from core.store import Store
from tests.peers_smpp import PASSWORD, SYSTEM_ID, smsc  # noqa: F401


def _check(tmp_path, mosquitto, port: int, password: str) -> tuple[int, str]:
    Store(tmp_path / "oasis.db").close()
    SecretBox.from_key_file(tmp_path / "oasis.key")
    path = tmp_path / "oasis.toml"
    path.write_text(f'[store]\npath = "oasis.db"\nkey_file = "oasis.key"\n\n'
                    f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n\n'
                    f'[sms]\ndriver = "smpp"\nsmpp_host = "127.0.0.1"\nsmpp_port = {port}\n'
                    f'smpp_system_id = "{SYSTEM_ID}"\nsmpp_password = "{password}"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--timeout", "3"])
    [line] = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["sms"]]
    return result.exit_code, line


def test_a_bind_the_smsc_accepts(tmp_path, mosquitto, smsc):  # noqa: F811
    _, line = _check(tmp_path, mosquitto, smsc.port, PASSWORD)
    assert line.startswith("ok") and f"bind as {SYSTEM_ID} accepted" in line
    assert smsc.wait_for("unbind") and smsc.of("submit_sm") == []


def test_a_refused_password_is_named_not_shown(tmp_path, mosquitto, smsc):  # noqa: F811
    wrong = "x" + PASSWORD[1:]
    code, line = _check(tmp_path, mosquitto, smsc.port, wrong)
    assert code == 1 and line.startswith("FAIL")
    assert "[sms] smpp_system_id, smpp_password" in line and wrong not in line


def test_an_smsc_that_is_not_there(tmp_path, mosquitto, smsc):  # noqa: F811
    port = smsc.port
    smsc.kill()
    code, line = _check(tmp_path, mosquitto, port, PASSWORD)
    assert code == 1 and line.startswith("FAIL") and f"127.0.0.1:{port}" in line
