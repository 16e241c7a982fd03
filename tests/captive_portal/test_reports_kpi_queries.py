"""The 940 domain's reads for the service KPIs and its bulk history writer."""

import pytest

from captive_portal.reports import kpi_queries, outbox
from captive_portal.reports.escalation import escalate_overdue
from captive_portal.reports.history import PastReport, insert_history
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.lifecycle import SETTLED, TransitionError
from captive_portal.reports.workflow import transition
from core.contracts.reports import STATUSES

DAY = 86400.0
T0 = 1_793_000_000.0  # 2026-10-26


def past(created_at, moves, **extra):
    return PastReport(category="lighting", channel="portal", created_at=created_at,
                      due_at=created_at + 72 * 3600, priority="normal", team="Lighting",
                      description="x", site="park-a", moves=moves, **extra)


def test_open_and_settled_statuses_cover_the_lifecycle():
    assert set(kpi_queries.OPEN) | SETTLED == set(STATUSES)
    assert not set(kpi_queries.OPEN) & SETTLED


def test_a_report_belongs_to_a_window_it_was_filed_moved_or_open_in(store):
    insert_history(store, [
        past(T0, [(T0 + 60, "forwarded", "forwarder"), (T0 + DAY, "resolved", "backoffice"),
                  (T0 + 2 * DAY, "closed", "citizen")]),                      # settled early
        past(T0, [(T0 + 60, "forwarded", "forwarder")]),                      # still open
        past(T0, [(T0 + 60, "forwarded", "forwarder"),
                  (T0 + 20 * DAY, "resolved", "backoffice")]),                # moved in window
        past(T0 + 40 * DAY, []),                                              # filed after
    ])
    found = list(kpi_queries.service_reports(store, T0 + 10 * DAY, T0 + 30 * DAY))
    assert [f.id for f in found] == [2, 3]
    # received and forwarded are left out of the timelines: nothing a KPI reads.
    assert found[0].events == []
    assert found[1].events == [(T0 + 20 * DAY, "resolved", "backoffice")]
    assert [f.id for f in kpi_queries.service_reports(store, T0 + 10 * DAY, T0 + 30 * DAY,
                                                      site="park-b")] == []


def test_escalations_are_counted_by_level(store, config):
    filed = file_report(store, NewReport(category="water", description="leak",
                                         channel="portal", site="park-a"),
                        config.reports, now=T0)
    escalate_overdue(store, T0 + 25 * 3600, config.reports)   # water: 24 h SLA -> level 1
    escalate_overdue(store, T0 + 49 * 3600, config.reports)   # a day later -> level 2
    assert kpi_queries.escalations_by_level(store, T0, T0 + 3 * DAY) == {1: 1, 2: 1}
    assert kpi_queries.escalations_by_level(store, T0, T0 + 26 * 3600) == {1: 1}
    assert kpi_queries.escalations_by_level(store, T0, T0 + 3 * DAY, category="lighting") == {}
    assert filed.tracking.startswith("940-2026-")


def test_history_is_checked_against_the_lifecycle_and_written_all_or_nothing(store):
    with pytest.raises(TransitionError):
        insert_history(store, [past(T0, [(T0 + 60, "forwarded", "forwarder")]),
                               past(T0, [(T0 + 60, "resolved", "backoffice")])])
    assert store.conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0


def test_history_shares_the_tracking_sequence_and_leaves_reports_the_domain_can_move(
        store, config):
    first = file_report(store, NewReport(category="lighting", description="lamp",
                                         channel="portal", site="park-a"),
                        config.reports, now=T0)
    insert_history(store, [past(T0 + 60, [(T0 + 120, "forwarded", "forwarder"),
                                          (T0 + 3600, "acknowledged", "backoffice")],
                                escalations=[(T0 + 1800, 1)],
                                phone="+966551234567",
                                sms=[(T0 + 60, "report_received", "delivered")])])
    row = store.conn.execute("SELECT tracking, status, updated_at, escalation_level "
                             "FROM reports WHERE id = 2").fetchone()
    assert row == (first.tracking[:-6] + "000002", "acknowledged", T0 + 3600, 1)
    moved = transition(store, row[0], "resolved", actor="backoffice", now=T0 + DAY,
                       config=config.reports)
    assert moved.status == "resolved"
    later = file_report(store, NewReport(category="lighting", description="lamp",
                                         channel="portal", site="park-a"),
                        config.reports, now=T0 + DAY)
    assert later.tracking.endswith("000003")
    assert kpi_queries.sms_states(store, T0, T0 + DAY) == [("report_received", "delivered", 1)]


def test_a_timeline_comes_in_time_order_even_after_a_clock_step(store, config):
    filed = file_report(store, NewReport(category="lighting", description="lamp",
                                         channel="open311", address="King Fahd Road"),
                        config.reports, now=T0)
    with store.transaction() as conn:
        outbox.acknowledge(conn, [filed.tracking], T0 + 60)
    transition(store, filed.tracking, "acknowledged", actor="backoffice", now=T0 + 7200,
               config=config.reports)
    transition(store, filed.tracking, "resolved", actor="backoffice", now=T0 + 3600,
               config=config.reports)  # the back office's clock stepped back an hour
    (facts,) = kpi_queries.service_reports(store, T0, T0 + DAY)
    assert facts.events == [(T0 + 3600, "resolved", "backoffice"),
                            (T0 + 7200, "acknowledged", "backoffice")]
