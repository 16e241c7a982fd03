"""What the portal records for the usage KPIs, walked through the real portal app: the funnel
and failure counters per site and hour, the visitor's keyed hash, and no MAC in the store once
the visit is over."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from captive_portal import usage
from captive_portal.gateways import Ack
from captive_portal.sessions import Sessions
from core import inventory
from core.localtime import local
from core.store import Store
from tests.captive_portal.portal_harness import MAC, Portal, code_in, error_code

pytestmark = pytest.mark.store_backed  # the Portal harness keeps its store


@pytest.fixture
def portal(tmp_path):
    portal = Portal(tmp_path, otp_resend_after_s=0)
    inventory.add_site(portal.store, {"slug": "north-park", "name_ar": "الحديقة الشمالية",
                                      "name_en": "North park", "kind": "park"}, "tests")
    portal.store.conn.execute("UPDATE portal_gateways SET site = 'north-park'")
    return portal


def counters(portal, kind: str) -> dict[tuple[str, str], int]:
    rows = portal.store.conn.execute(
        "SELECT site, item, sum(count) FROM portal_usage_counts WHERE kind = ? "
        "GROUP BY site, item", (kind,))
    return {(site, item): n for site, item, n in rows}


def test_a_terms_login_walks_the_whole_funnel(portal):
    assert portal.login_terms().status_code == 303
    assert counters(portal, "funnel") == {
        ("north-park", "redirect"): 1, ("north-park", "portal"): 1,
        ("north-park", "step"): 1, ("north-park", "online"): 1}
    assert counters(portal, "failure") == {}
    hour, = portal.store.conn.execute("SELECT DISTINCT hour FROM portal_usage_counts").fetchone()
    assert hour == (portal.now // 3600) * 3600


def test_the_visitor_is_a_keyed_hash_stable_within_the_month(portal):
    portal.login_terms()
    portal.now += 3600
    portal.login_terms()  # the same phone an hour later
    (first, online), (second, _) = portal.store.conn.execute(
        "SELECT visitor, online_at FROM portal_sessions ORDER BY id")
    assert first == second and online == portal.now - 3600
    # HMAC-SHA256 keyed by a key derived from the app's secret key, over the local month.
    key = hmac.new(b"k" * 32, b"oasis-edge visitor hash v1", hashlib.sha256).digest()
    month = local(portal.now, "Asia/Riyadh").strftime("%Y-%m")
    assert first == hmac.new(key, f"{month}|{MAC}".encode(), hashlib.sha256).hexdigest()[:32]
    # Another month, another id: a device cannot be followed from one month to the next.
    assert usage.visitor_hash(key, MAC, portal.now + 40 * 86400, "Asia/Riyadh") != first
    assert usage.visitor_hash(key, "02:00:00:00:00:02", portal.now, "Asia/Riyadh") != first


def test_failures_are_counted_by_cause(portal):
    stale = portal.landing(age=10_000)
    assert stale.status_code == 403 and error_code(stale) == "signature_stale"
    assert portal.post("/login/terms", portal.landing()).status_code == 400  # not accepted
    portal.gateway.ack = Ack(False, "timeout")
    assert error_code(portal.login_terms()) == "gateway_unavailable"
    page = portal.post("/login/phone", portal.landing(), phone="0501234567")
    assert page.status_code == 200
    wrong = portal.post("/login/code", page, code="000000")
    assert error_code(wrong) == "code_invalid"
    portal.gateway.ack = Ack(True)
    right = portal.post("/login/code", page, code=code_in(portal.last_sms()))
    assert right.status_code == 303
    assert counters(portal, "failure") == {
        ("north-park", "signature_stale"): 1, ("north-park", "terms_not_accepted"): 1,
        ("north-park", "gateway_unavailable"): 1, ("north-park", "code_invalid"): 1}
    # Four arrivals, three shown (the stale link was not); steps: the terms accepted before
    # the gateway's timeout and the code sent; online: the code login only.
    assert counters(portal, "funnel") == {
        ("north-park", "redirect"): 4, ("north-park", "portal"): 3,
        ("north-park", "step"): 2, ("north-park", "online"): 1}
    assert portal.store.conn.execute(
        "SELECT count(*) FROM portal_sessions WHERE online_at IS NOT NULL").fetchone()[0] == 1


def test_an_unknown_gateway_counts_under_no_site(portal):
    portal.client.get("/", query_string={**portal.params(), "gw": "nobody"})
    assert counters(portal, "funnel") == {("", "redirect"): 1}
    assert counters(portal, "failure") == {("", "signature_unknown_gateway"): 1}


def test_no_mac_stays_in_the_store_after_the_visit(portal):
    page = portal.post("/login/phone", portal.landing(), phone="0501234567")
    assert portal.post("/login/code", page, code=code_in(portal.last_sms())).status_code == 303
    status = portal.client.get("/status")
    assert portal.post("/logout", status).status_code == 200
    portal.login_terms()
    portal.now += 10
    portal.login_terms()  # replaces the session before
    active = portal.store.conn.execute(
        "SELECT id FROM portal_sessions WHERE state = 'active'").fetchone()[0]
    Sessions(portal.store, lambda: portal.now).end(active, "expired")
    rows = portal.store.conn.execute(
        "SELECT mac, visitor FROM portal_sessions ORDER BY id").fetchall()
    assert len(rows) == 3 and {mac for mac, _ in rows} == {""}
    # The code stays bound to the device, by its keyed hash.
    (bound, source), = portal.store.conn.execute("SELECT client_mac, source FROM portal_otps")
    assert bound.startswith("device:") and source == "mac:" + bound[7:]
    assert len({visitor for _, visitor in rows}) == 1
    if portal.store.backend != "sqlite":
        return  # the rows are checked above; the file scan below reads SQLite's own files
    portal.app.extensions["oasis_portal"].stores.close_all()
    portal.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = b"".join(p.read_bytes() for p in Path(portal.store_path).parent.glob("portal.db*"))
    for form in (MAC, MAC.upper(), MAC.replace(":", ""), MAC.replace(":", "-")):
        assert form.encode() not in data, form
    assert b"north-park" in data  # the scan does read the store


def _count_many(path: str, n: int) -> None:
    store = Store(path, migrate=False)
    for _ in range(n):
        usage.count(store, 1_800_000_000.0, "north-park", "funnel", "redirect")
    store.close()


def test_two_processes_counting_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "count.db")
    Store(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_count_many, args=(path, 300)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count, hour FROM portal_usage_counts").fetchall() == [
        (600, 1_800_000_000.0 // 3600 * 3600)]
    conn.close()
