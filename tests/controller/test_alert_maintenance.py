"""A planned maintenance window holds back the alerts of the APs it covers: no alert opens while
it lasts, an open one still clears, and a condition that outlives the window opens its alert."""

from __future__ import annotations

from controller.monitoring.alerts import AlertEvaluator
from controller.monitoring.snapshot import ApState, ApStatus
from controller.settings import AlertsConfig
from core import alerts as alert_rows
from core import maintenance
from core.store import now
from tests.controller.alert_fleet import add_aps


def down(ap_id: int, name: str) -> ApStatus:
    return ApStatus(ap_id=ap_id, name=name, state=ApState.DOWN, polled_at=now(),
                    consecutive_failures=3)


def test_maintenance_holds_back_new_alerts_of_what_it_covers(store):
    first, second = add_aps(store, ("park-01", None), ("park-02", None))
    evaluator = AlertEvaluator(store, AlertsConfig())
    window = maintenance.add(store, starts_at=now() - 60, ends_at=now() + 3600, actor="olga",
                             reason="firmware upgrade", site_id=1)
    assert evaluator.evaluate([down(first, "park-01"), down(second, "park-02")]) == []
    assert alert_rows.open_counts(store) == {}
    maintenance.remove(store, window.id, actor="olga")
    opened = evaluator.evaluate([down(first, "park-01")])
    assert [c.kind for c in opened] == ["ap_down"]
    # A window on the other AP leaves this one's alert open, and it clears as usual.
    maintenance.add(store, starts_at=now() - 60, ends_at=now() + 3600, actor="olga",
                    ap_id=second)
    up = ApStatus(ap_id=first, name="park-01", state=ApState.UP, polled_at=now())
    assert [c.status for c in evaluator.evaluate([up])] == ["cleared"]
