"""`make run` writes var/demo/oasis.toml so a second terminal's commands read the demo's store."""

from click.testing import CliRunner

from controller import demo
from controller.cli import cli
from core.config import load_config


def test_a_second_terminal_reads_the_demo_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    demo.prepare(config, demo_paths=True)
    assert demo.seed(config) > 0
    second = load_config(str(tmp_path / demo.DEMO_CONFIG), env={})
    assert second.resolve_path(second.store.path).resolve() == \
        (tmp_path / "var/demo/oasis.db").resolve()
    listed = CliRunner().invoke(cli, ["ap", "list"],
                                env={"OASIS_CONFIG": demo.DEMO_CONFIG})
    assert listed.exit_code == 0, listed.output
    assert "KAP-AP-03" in listed.output


def test_an_edited_second_terminal_config_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var/demo").mkdir(parents=True)
    (tmp_path / demo.DEMO_CONFIG).write_text("[store]\npath = \"mine.db\"\n")
    demo.prepare(load_config(None, env={}), demo_paths=True)
    assert "mine.db" in (tmp_path / demo.DEMO_CONFIG).read_text()
