import pytest

from tests.captive_portal.portal_harness import Portal

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


@pytest.fixture
def site(tmp_path):
    """The portal as the 940 pages and Open311 see it (default `[portal]` settings)."""
    return Portal(tmp_path)
