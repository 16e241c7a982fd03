"""The metrics store: cycle writes, hourly roll-up, retention and chart series."""

from __future__ import annotations

from controller.monitoring.metrics import downsample, series, write_cycle
from controller.monitoring.snapshot import ApState, ApStatus
from controller.settings import RetentionConfig

H = 3600
BASE = 1_700_000_000 // H * H   # an hour boundary


def status(ap_id: int, at: float, *, up: bool = True, clients: int | None = 5,
           in_bps: float | None = 100.0, errors_ps: float | None = 0.0) -> ApStatus:
    return ApStatus(ap_id=ap_id, name=f"ap-{ap_id}", state=ApState.UP if up else ApState.DOWN,
                    polled_at=at, answered_at=at if up else at - 600, clients=clients,
                    in_bps=in_bps, out_bps=in_bps and in_bps / 2, in_pps=1.0, out_pps=1.0,
                    errors_ps=errors_ps)


def table(store, name: str) -> list[tuple]:
    return store.conn.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()


def test_write_cycle_stores_2000_aps_in_one_transaction(store):
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    written = write_cycle(store, [status(i, BASE + 5) for i in range(1, 2001)], BASE + 5.7)
    store.conn.set_trace_callback(None)

    assert written == 2000
    assert store.conn.execute("SELECT count(*), min(at), max(at) FROM metrics_raw").fetchone() \
        == (2000, BASE + 5, BASE + 5)
    assert sum(s.startswith("BEGIN") for s in statements) == 1
    assert sum(s == "COMMIT" for s in statements) == 1


def test_write_cycle_marks_unanswered_polls_down_and_skips_unpolled(store):
    never_polled = ApStatus(ap_id=3, name="ap-3")
    write_cycle(store, [status(1, BASE), status(2, BASE, up=False, clients=None), never_polled],
                BASE)
    rows = store.conn.execute("SELECT ap_id, up, clients FROM metrics_raw ORDER BY ap_id")
    assert rows.fetchall() == [(1, 1, 5), (2, 0, None)]


def fill_hour(store, hour: int) -> None:
    """Three samples for AP 1: clients 10, 20 and one failed poll; AP 2 always up."""
    write_cycle(store, [status(1, hour + 60, clients=10, in_bps=100.0, errors_ps=1.0),
                        status(2, hour + 60, clients=1)], hour + 60)
    write_cycle(store, [status(1, hour + 120, clients=20, in_bps=300.0, errors_ps=3.0),
                        status(2, hour + 120, clients=3)], hour + 120)
    write_cycle(store, [status(1, hour + 180, up=False, clients=None, in_bps=None,
                               errors_ps=None), status(2, hour + 180, clients=2)], hour + 180)


def test_downsample_averages_maxima_and_availability(store):
    fill_hour(store, BASE)
    result = downsample(store, BASE + H + 10, RetentionConfig())
    assert result.hours_rolled == 2
    row = store.conn.execute(
        "SELECT samples, up_samples, clients_avg, clients_max, in_bps_avg, in_bps_max, "
        "out_bps_max, errors_ps_avg FROM metrics_hourly WHERE ap_id = 1 AND hour = ?",
        (BASE,)).fetchone()
    assert row == (3, 2, 15.0, 20, 200.0, 300.0, 150.0, 2.0)
    assert store.conn.execute("SELECT samples, up_samples, clients_avg FROM metrics_hourly "
                              "WHERE ap_id = 2").fetchone() == (3, 3, 2.0)


def test_the_current_hour_is_not_rolled_until_complete(store):
    fill_hour(store, BASE)
    assert downsample(store, BASE + 200, RetentionConfig()).hours_rolled == 0
    assert table(store, "metrics_hourly") == []


def test_downsample_twice_gives_the_same_rows(store):
    fill_hour(store, BASE)
    fill_hour(store, BASE + H)
    downsample(store, BASE + 2 * H + 1, RetentionConfig())
    first = table(store, "metrics_hourly")
    downsample(store, BASE + 2 * H + 1, RetentionConfig())
    assert table(store, "metrics_hourly") == first
    assert len(first) == 4


def test_an_hour_rolled_early_is_completed_later(store):
    write_cycle(store, [status(1, BASE + 60, clients=10)], BASE + 60)
    downsample(store, BASE + H, RetentionConfig())          # hour complete by the clock
    write_cycle(store, [status(1, BASE + 3599, clients=30)], BASE + 3599)  # a late sample
    downsample(store, BASE + H + 5, RetentionConfig())
    assert store.conn.execute("SELECT samples, clients_avg FROM metrics_hourly").fetchone() \
        == (2, 20.0)


def test_retention_deletes_whole_old_hours_and_keeps_rollups(store):
    retention = RetentionConfig(raw_hours=2, hourly_days=1)
    for hour in range(4):
        fill_hour(store, BASE + hour * H)
    now = BASE + 4 * H + 30 * 60                             # 04:30 -> raw kept from 02:00
    result = downsample(store, now, retention)

    assert result.raw_deleted == 12
    assert store.conn.execute("SELECT min(at) FROM metrics_raw").fetchone()[0] == BASE + 2 * H + 60
    rolled = table(store, "metrics_hourly")
    assert {r[1] for r in rolled} == {BASE + h * H for h in range(4)}
    assert downsample(store, now, retention).raw_deleted == 0
    assert table(store, "metrics_hourly") == rolled          # idempotent after deletes too

    later = BASE + 2 * 24 * H
    assert downsample(store, later, retention).hourly_deleted == len(rolled)
    assert table(store, "metrics_hourly") == [] and table(store, "metrics_raw") == []


def test_series_uses_raw_for_short_spans_and_hours_for_long_ones(store):
    fill_hour(store, BASE)
    downsample(store, BASE + H, RetentionConfig())

    short = series(store, 1, BASE, BASE + H)
    assert short.resolution == "raw"
    assert [(p.at, p.up_ratio, p.clients) for p in short.points] == \
        [(BASE + 60, 1.0, 10), (BASE + 120, 1.0, 20), (BASE + 180, 0.0, None)]

    long = series(store, 1, BASE - 6 * 24 * H, BASE + H)
    assert long.resolution == "hourly"
    [point] = long.points
    assert (point.at, point.samples, point.clients, point.clients_max) == (BASE, 3, 15.0, 20)
    assert abs(point.up_ratio - 2 / 3) < 1e-9
    assert series(store, 2, BASE + H, BASE + 2 * H).points == []
