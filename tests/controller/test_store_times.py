"""The controller's tables keep their times as REAL unix seconds; a store from the release that
kept ISO-8601 text upgrades with every row and index intact, and shows the same text as before."""

import sqlite3

from controller.backhaul.service import branch_events, get_branch
from controller.web import readers
from core.store import Store
from tests.store_times import assert_times_are_unix_seconds, schema

T0 = "2026-11-01T08:30:00+00:00"
T0_UNIX = 1793521800.0
T1 = "2026-11-02T09:45:17+00:00"
T1_UNIX = 1793612717.0
# A branch's clock, as the agent writes it: with milliseconds.
B0 = "2026-11-01T08:29:58.250+00:00"
B0_UNIX = 1793521798.25
B1 = "2026-11-01T08:31:04.007+00:00"
B1_UNIX = 1793521864.007

TIMES = {
    "ap_events": ["at"],
    "alerts": ["opened_at", "cleared_at"],
    "backhaul_branches": ["state_at", "path_at", "updated_at"],
    "backhaul_events": ["at", "received_at"],
}


def _previous_release_rows(path) -> None:
    """Rows as the previous release wrote them: times as ISO-8601 text."""
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("INSERT INTO sites (id, slug, name_ar, name_en, kind, created_at, updated_at) "
                "VALUES (1, 'park', 'حديقة', 'Park', 'park', ?, ?)", (T0, T0))
    raw.execute("INSERT INTO aps (id, name, mac, mgmt_ip, platform, site_id, snmp_version, "
                "created_at, updated_at) VALUES (1, 'ap-1', '02:00:00:00:00:01', '10.0.0.1', "
                "'openwrt', 1, '2c', ?, ?)", (T0, T0))
    raw.execute("INSERT INTO ap_events (id, ap_id, at, kind, source, detail) "
                "VALUES (3, 1, ?, 'coldStart', 'trap', '{}')", (T1,))
    raw.execute("INSERT INTO alerts (id, ap_id, kind, severity, opened_at, cleared_at, detail) "
                "VALUES (5, 1, 'ap_down', 'critical', ?, ?, '{}')", (T0, T1))
    raw.execute("INSERT INTO alerts (id, ap_id, kind, severity, opened_at, detail) "
                "VALUES (6, 1, 'ap_down', 'critical', ?, '{}')", (T1,))
    raw.execute("INSERT INTO alerts (id, ap_id, branch, kind, severity, opened_at, detail) "
                "VALUES (7, NULL, 'branch-a', 'backhaul_failover', 'warning', ?, '{}')", (T0,))
    raw.execute("INSERT INTO backhaul_branches (branch, state, state_at, active_link, path, "
                "path_at, updated_at) VALUES ('branch-a', NULL, ?, 'backup', 'backup', ?, ?)",
                (B1, B0, T1))
    raw.execute("INSERT INTO backhaul_events (id, event_id, branch, at, kind, from_link, "
                "to_link, detail, received_at) VALUES (9, 'e-1', 'branch-a', ?, 'failover', "
                "'primary', 'backup', '{}', ?)", (B0, T0))
    raw.commit()
    raw.close()


def test_a_store_from_the_previous_release_gets_unix_seconds(store_before):
    path = store_before("controller", "unix_times")
    _previous_release_rows(path)
    store = Store(path)
    conn = store.conn
    assert_times_are_unix_seconds(conn, TIMES)
    assert conn.execute("SELECT id, at FROM ap_events").fetchall() == [(3, T1_UNIX)]
    assert conn.execute("SELECT id, opened_at, cleared_at, branch FROM alerts ORDER BY id"
                        ).fetchall() == [(5, T0_UNIX, T1_UNIX, None), (6, T1_UNIX, None, None),
                                         (7, T0_UNIX, None, "branch-a")]
    assert conn.execute("SELECT state_at, path_at, updated_at FROM backhaul_branches"
                        ).fetchone() == (B1_UNIX, B0_UNIX, T1_UNIX)
    assert conn.execute("SELECT at, received_at FROM backhaul_events").fetchone() == \
        (B0_UNIX, T0_UNIX)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    # What the pages and the API show is the text they showed before.
    assert [(a["opened_at"], a["cleared_at"]) for a in readers.alerts(store, state="all")] == \
        [(T1, None), (T0, T1), (T0, None)]
    assert [e["at"] for e in readers.events(store, 1)] == [T1]
    branch = get_branch(store, "branch-a")
    assert (branch["state_at"], branch["path_at"], branch["updated_at"]) == (B1, B0, T1)
    assert branch["alert"]["opened_at"] == T0
    [event] = branch_events(store, "branch-a")
    assert (event["at"], event["received_at"], event["ongoing"]) == (B0, T0, True)
    store.close()


def test_the_rebuilt_tables_keep_their_indexes_and_columns(store_before, tmp_path):
    path = store_before("controller", "unix_times")
    _previous_release_rows(path)
    upgraded, fresh = Store(path), Store(tmp_path / "fresh.db")
    for table in TIMES:
        # Same columns in the same order as a new store (the API shows whole alert rows).
        assert schema(upgraded.conn, table) == schema(fresh.conn, table), table
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    assert upgraded.conn.execute(indexes).fetchall() == fresh.conn.execute(indexes).fetchall()
    # Still one open alert of a kind per AP, and the events still follow their AP.
    try:
        upgraded.conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at) "
                              "VALUES (1, 'ap_down', 'critical', 1.0)")
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a second open ap_down alert was accepted")
    upgraded.conn.execute("DELETE FROM aps WHERE id = 1")
    assert upgraded.conn.execute("SELECT count(*) FROM ap_events").fetchone() == (0,)
    upgraded.close()
    fresh.close()
