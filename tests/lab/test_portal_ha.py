"""Two portal nodes on one store behind a real HAProxy (docs/haproxy-nodes.cfg), round robin
with no stickiness: visitors log in by terms and by SMS code and file 940 reports whichever node
answers each page, and one node is SIGKILLed mid-run (with its workers): no visitor loses a
login or a report, no report is filed twice, HAProxy takes the dead node out. On the SQLite
store and on a PostgreSQL one (`tests.lab.portal_ha`)."""

from __future__ import annotations

import pytest

from core.store import Store
from tests.lab.netns import Lab, sweep_stale
from tests.lab.portal_ha import PortalNodes
from tests.support import require_root, require_tool

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]


def _socket_url(cluster) -> str:
    """A new migrated database of the session's cluster, reached over its Unix socket (a
    file: the portals in the lab's namespace reach it as the test does)."""
    name = cluster.database().rsplit("/", 1)[1]
    return f"postgresql://oasis@/{name}?host={cluster.root}&port={cluster.port}"


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request, tmp_path):
    require_root()
    for tool in ("nft", "mosquitto", "curl", "haproxy"):
        require_tool(tool)
    url = _socket_url(request.getfixturevalue("postgres_cluster")) \
        if request.param == "postgresql" else ""
    sweep_stale("ha")
    with Lab(prefix="ha") as lab:
        lab_nodes = PortalNodes(lab, tmp_path, nodes=2, workers=1, store_url=url)
        lab_nodes.start()
        yield lab_nodes
    if url:
        from core.store.postgresql import close_pools
        close_pools(url)


def test_visitors_keep_their_logins_and_reports_when_a_node_dies(nodes):
    assert nodes.servers_up() == 2
    # Round robin without stickiness: one visitor's pages come from both nodes.
    warm = nodes.drive(12, 2, mix="mixed")
    assert warm["failed"] == 0, warm["first_failures"]

    run = nodes.drive(90, 4, mix="mixed", first=1000, kill_after=25)
    assert nodes.portals[1].poll() is not None            # node 2 is dead
    assert run["failed"] == 0, run["first_failures"]       # no journey lost
    assert run["completed"] == 90
    assert run["by_kind"] == {"terms": 30, "sms": 30, "report": 30}
    assert 0 < run["completed_after_kill"] < 90 - 20      # it died mid-run
    assert run["gap_after_kill_s"] < 5
    nodes.wait(lambda: nodes.servers_up() == 1, 10, "HAProxy to mark the dead node down")

    store = Store(nodes.store_location)
    try:
        trackings = warm["trackings"] + run["trackings"]
        assert len(trackings) == len(set(trackings)) == 34
        # Every report once, each with its one message to the back office: none duplicated
        # by a retried post, none lost with the node.
        assert store.conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 34
        assert store.conn.execute("SELECT count(*) FROM report_outbox").fetchone()[0] == 34
        # Every device logged in once more than it needed, at most: one active session each.
        active = store.conn.execute(
            "SELECT count(*), count(DISTINCT mac) FROM portal_sessions WHERE state = 'active'"
        ).fetchone()
        assert active == (102, 102)
        # One code a phone: a code request sent again was shown the live code's form.
        sent = store.conn.execute(
            "SELECT count(*), count(DISTINCT to_number) FROM sms_messages "
            "WHERE purpose = 'login_code'").fetchone()
        assert sent == (34, 34)
    finally:
        store.close()
