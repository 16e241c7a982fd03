import pytest

from tests.captive_portal.portal_harness import Portal

# A test module whose harness keeps a store is marked store_backed in the module itself
# (a conftest's pytestmark marks nothing), so it runs on the PostgreSQL pass too.


@pytest.fixture
def site(tmp_path):
    """The real portal app (login pages, 940 pages, Open311) on a fresh store."""
    return Portal(tmp_path)


@pytest.fixture(scope="module")
def module_store_url(request):
    """The store of a module-scoped harness on ``--store postgresql``: a fresh database of the
    session's cluster, as a ``[store] url``; "" on the SQLite pass (the harness's own file)."""
    if request.config.getoption("--store") != "postgresql":
        yield ""
        return
    url = request.getfixturevalue("postgres_cluster").database()
    yield url
    from core.store.postgresql import close_pools
    close_pools(url)
