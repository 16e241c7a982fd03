import pytest

# Real peers and the simulated fleet, served as fixtures to every package's tests: Mosquitto,
# net-snmp snmpd and snmpsim (with device recordings), the AP simulator seeded into a store
# (sim_lab), and one headless Chromium per module (browser). tests.parallel: how the suite
# shares the cores (`make test`).
pytest_plugins = ["tests.mosquitto", "tests.peers_snmp", "tests.peers_recordings",
                  "tests.netconfig.sim_fleet", "tests.browser", "tests.peers_postgres",
                  "tests.parallel"]

import os

from core import store as store_module
from core.config import load_config
from core.secrets import SecretBox
from core.store import Store


def pytest_addoption(parser):
    parser.addoption("--store", choices=("sqlite", "postgresql"),
                     default=os.environ.get("OASIS_TEST_STORE", "sqlite"),
                     help="the store backend of the store-backed tests (those using the"
                          " `config` or `store` fixture); with postgresql only those run,"
                          " each on a fresh database of a throwaway cluster")


def pytest_collection_modifyitems(config, items):
    """On ``--store postgresql`` the store-backed tests run; the rest ran on the SQLite pass."""
    if config.getoption("--store") != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        store_backed = ({"config", "store"} & used or item.get_closest_marker("store_backed")) \
            and not item.get_closest_marker("sqlite_only")
        (keep if store_backed else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def store_backend(request) -> str:
    return request.config.getoption("--store")


@pytest.fixture
def config(tmp_path, request, monkeypatch):
    """Defaults with the store and key file in a temporary folder; on ``--store postgresql``
    the store is a fresh database of the session's PostgreSQL cluster (``[store] url``), and
    ``OASIS_STORE_URL`` names it to every config loaded during the test, so the processes a
    test starts with a config file of their own use the same store."""
    cfg = load_config(env={})
    cfg.store.path = str(tmp_path / "oasis.db")
    cfg.store.key_file = str(tmp_path / "oasis.key")
    if request.config.getoption("--store") == "postgresql":
        cfg.store.url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("OASIS_STORE_URL", cfg.store.url)
    return cfg


@pytest.fixture
def store(config):
    s = Store(config.store_location())
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
