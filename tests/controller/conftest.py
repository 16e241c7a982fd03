import pytest

from controller.monitoring.snapshot import Snapshot
from tests.controller.web_harness import bearer, build_app


@pytest.fixture
def snapshot():
    """The poller's snapshot as the admin app reads it; a test puts AP results in it."""
    return Snapshot()


@pytest.fixture
def client(config, secrets, store, snapshot):
    """A test client of the admin app over ``snapshot``."""
    return build_app(config, secrets, snapshot).test_client()


@pytest.fixture
def woken():
    """One ``True`` each time the app wakes the provisioning worker (build_app's ``woken``)."""
    return []


@pytest.fixture
def op(store):
    """REST API headers of an operator (a fresh user with a token)."""
    return bearer(store, "olga", "operator")


@pytest.fixture
def viewer(store):
    """REST API headers of a viewer."""
    return bearer(store, "vera", "viewer")
