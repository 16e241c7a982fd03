import pytest

pytest_plugins = ["tests.mosquitto"]

from core.config import load_config
from core.secrets import SecretBox
from core.store import Store
from tests.controller.web_harness import bearer


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
def secrets(config):
    return SecretBox.from_key_file(config.store.key_file)


@pytest.fixture
def op(store):
    """REST API headers of an operator (a fresh user with a token)."""
    return bearer(store, "olga", "operator")


@pytest.fixture
def viewer(store):
    """REST API headers of a viewer."""
    return bearer(store, "vera", "viewer")
