import pytest

# Real peers and the simulated fleet, served as fixtures to every package's tests: Mosquitto,
# net-snmp snmpd and snmpsim (with device recordings), the AP simulator seeded into a store
# (sim_lab), and one headless Chromium per module (browser).
pytest_plugins = ["tests.mosquitto", "tests.peers_snmp", "tests.peers_recordings",
                  "tests.netconfig.sim_fleet", "tests.browser"]

from core import store as store_module
from core.config import load_config
from core.secrets import SecretBox
from core.store import Store


@pytest.fixture
def config(tmp_path):
    """Defaults with the store and key file in a temporary folder."""
    cfg = load_config(env={})
    cfg.store.path = str(tmp_path / "oasis.db")
    cfg.store.key_file = str(tmp_path / "oasis.key")
    return cfg


@pytest.fixture
def store(config):
    s = Store(config.store.path)
    yield s
    s.close()


@pytest.fixture
def store_before(tmp_path, monkeypatch):
    """``store_before(component, name)``: the path of a store as the release before that
    migration left it (every migration that runs before it applied, it and later ones not)."""
    def build(component: str, name: str):
        every = store_module.available_migrations()
        upto = next(i for i, m in enumerate(every) if (m.component, m.name) == (component, name))
        path = tmp_path / f"before-{component}-{name}.db"
        with monkeypatch.context() as patch:
            patch.setattr(store_module, "available_migrations", lambda: every[:upto])
            Store(path).close()
        return path

    return build


@pytest.fixture
def secrets(config):
    return SecretBox.from_key_file(config.store.key_file)
