import pytest

from tests.captive_portal.portal_harness import Portal

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


@pytest.fixture
def site(tmp_path):
    """The real portal app (login pages, 940 pages, Open311) on a fresh store."""
    return Portal(tmp_path)
