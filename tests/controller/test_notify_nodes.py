"""The notify worker on two nodes sharing one store (docs/scale-out.md): one node decides (the
lease ``singleton:notify``), so an alert is routed once and its webhook (a real HTTP receiver
checking signatures) called once whichever node sends it; when the deciding node stops
renewing (it died), the other decides from the lease's expiry on."""

from __future__ import annotations

import threading
import time

import pytest

from controller.notify import rules
from controller.notify.channels import Channels
from controller.notify.worker import NotifyWorker
from core import alerts as alert_rows
from core.store import Store
from tests.controller.notify_harness import Clock, WebhookReceiver
from tests.fleet import add_ap, add_site

TTL_S = 2.0


@pytest.fixture
def receiver():
    hook = WebhookReceiver(secret="s3cret-webhook-key-for-tests")
    hook.start()
    yield hook
    hook.stop()


def _node(store, config, secrets, clock) -> tuple[NotifyWorker, Store]:
    own = Store(store.location, migrate=False)
    channels = Channels(config.mail, None, None, webhook_timeout_s=5.0)
    worker = NotifyWorker(lambda: own, config.alerts, channels, secrets,
                          config.municipality.timezone, clock=clock, watch_reports=False,
                          lease_ttl_s=TTL_S)
    return worker, own


def _open(store, ap_id, at) -> int:
    with store.transaction() as conn:
        return alert_rows.open_alert(conn, "ap_down", "critical", {}, at=at, ap_id=ap_id)


def _both_pass(nodes) -> list[dict]:
    """A pass of each node at the same moment, as two machines would make them."""
    results: list[dict] = []
    barrier = threading.Barrier(len(nodes))

    def one(worker, own):
        barrier.wait()
        results.append(worker.run_once(own))

    threads = [threading.Thread(target=one, args=node) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_an_alert_is_routed_and_sent_once_and_the_other_node_takes_over(
        store, config, secrets, receiver):
    add_site(store)
    fleet = [add_ap(store, secrets, n)["id"] for n in (1, 2)]
    rules.add_webhook(store, secrets, actor="admin", name="noc", url=receiver.url,
                      secret=receiver.secret)
    clock = Clock(time.time())
    nodes = [_node(store, config, secrets, clock) for _ in range(2)]
    first = _open(store, fleet[0], clock())
    for _ in range(3):
        results = _both_pass(nodes)
        assert sum(r.get("routed", 0) for r in results) <= 1
    assert [h["alert_id"] for h in receiver.received] == [first]
    deciding = [w for w, _own in nodes if w.lease(_own).held()]
    assert len(deciding) == 1
    survivor = next(node for node in nodes if node[0] is not deciding[0])

    # The deciding node dies: it makes no more passes, its lease runs out after the TTL.
    second = _open(store, fleet[1], clock())
    clock.advance(TTL_S / 2)
    assert survivor[0].run_once(survivor[1]).get("routed", 0) == 0  # not yet its turn
    clock.advance(TTL_S)
    assert survivor[0].run_once(survivor[1])["routed"] == 1
    assert [h["alert_id"] for h in receiver.received] == [first, second]
    assert receiver.bad_signatures == 0
    for _worker, own in nodes:
        own.close()
