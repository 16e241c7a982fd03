"""Alert notifications end to end against real peers: e-mail through an aiosmtpd relay, webhooks
to a real HTTP receiver that checks the signature, SMS through the portal's gateway (console
driver). Routing per severity, the on-call rota, the digest, a relay that is down, and what
holds a notification back (acknowledgement, silence, maintenance)."""

from __future__ import annotations

import time

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from controller.notify import messages, outbox, rota, rules
from controller.notify.digest import last_period
from controller.notify.worker import KEEP_S
from core import alerts as alert_rows
from core import maintenance
from tests.controller.alert_fleet import add_aps
from tests.controller.notify_harness import (
    Clock,
    WebhookReceiver,
    sms_sent,
    sms_service,
    worker,
)
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.support import free_port


@pytest.fixture
def fleet(store):
    return add_aps(store, ("park-01", None), ("park-02", None))


@pytest.fixture
def clock():
    return Clock(time.time())


@pytest.fixture
def receiver():
    hook = WebhookReceiver(secret="s3cret-webhook-key-for-tests")
    hook.start()
    yield hook
    hook.stop()


@pytest.fixture
def relay(config, smtp_server):  # noqa: F811
    config.mail.host, config.mail.port = smtp_server.host, smtp_server.port
    return smtp_server


@pytest.fixture
def people(store):
    noura = rota.add_person(store, actor="admin", name="Noura", email="noura@amanah.example",
                            phone="+966500000001", locale="ar")
    sam = rota.add_person(store, actor="admin", name="Sam", email="sam@amanah.example",
                          phone="+966500000002", locale="en")
    return noura, sam


def open_alert(store, kind, severity, at, *, ap_id=None, detail=None):
    with store.transaction() as conn:
        return alert_rows.open_alert(conn, kind, severity, detail or {}, at=at, ap_id=ap_id)


def clear(store, alert_id, at):
    with store.transaction() as conn:
        alert_rows.clear_alert(conn, alert_id, at=at)


def test_critical_goes_by_sms_email_and_webhook_to_who_is_on_call(
        store, config, secrets, fleet, people, relay, receiver, clock, tmp_path):
    noura, _sam = people
    # Noura is on call around the clock; Sam has no shift, so only Noura is told.
    rota.add_shift(store, actor="admin", person_id=noura, starts="00:00", ends="23:59")
    rota.add_shift(store, actor="admin", person_id=noura, starts="23:59", ends="00:00")
    rules.add_webhook(store, secrets, actor="admin", name="noc", url=receiver.url,
                      secret=receiver.secret)
    sms_file = tmp_path / "sms.jsonl"
    w = worker(store, config, secrets, clock, sms_service(store, config, sms_file))
    alert = open_alert(store, "ap_down", "critical", clock(), ap_id=fleet[0],
                       detail={"consecutive_failures": 3})

    done = w.run_once(store)

    assert done["routed"] == 1 and done["sent"] == 3
    (to, mail), = relay.wait(1)
    assert to == ["noura@amanah.example"]
    assert mail["Content-Language"] == "ar"
    assert 'dir="rtl"' in mail.get_body(("html",)).get_content()
    body = mail.get_body(("plain",)).get_content()
    assert "park-01" in body and "AP down" not in body  # Arabic, for Noura
    (sms,) = sms_sent(sms_file)
    assert sms["to"] == "+966500000001" and "park-01" in sms["text"]
    (hook,) = receiver.received
    assert hook["alert_id"] == alert and hook["event"] == "open" and hook["ap_name"] == "park-01"
    assert receiver.bad_signatures == 0
    # The same pass again sends nothing: one decision per alert and phase.
    assert w.run_once(store).get("sent", 0) == 0
    assert len(relay.messages) == 1 and len(receiver.received) == 1


def test_warning_goes_by_email_only_and_clearing_is_told_in_each_ones_language(
        store, config, secrets, fleet, people, relay, clock, tmp_path):
    sms_file = tmp_path / "sms.jsonl"
    w = worker(store, config, secrets, clock, sms_service(store, config, sms_file))
    alert = open_alert(store, "clients_over_capacity", "warning", clock(), ap_id=fleet[1],
                       detail={"clients": 70, "capacity": 60})
    w.run_once(store)
    relay.wait(2)  # nobody has a shift: everyone active is on call
    clock.advance(60)
    clear(store, alert, clock())
    w.run_once(store)
    mails = [(to, m["Subject"]) for to, m in relay.wait(4)]
    assert sms_sent(sms_file) == []
    english = [s for to, s in mails if to == ["sam@amanah.example"]]
    assert english == ["[warning] Opened: Clients above capacity: park-02",
                       "[warning] Cleared: Clients above capacity: park-02"]
    arabic = [s for to, s in mails if to == ["noura@amanah.example"]]
    assert len(arabic) == 2 and all("Cleared" not in s and "Opened" not in s for s in arabic)


def test_routing_is_configurable_per_severity(store, config, secrets, fleet, people, relay,
                                              clock, tmp_path):
    rules.set_rule(store, rules.Rule("warning", email=False, sms=True, webhook=False,
                                     on_clear=False), actor="admin")
    sms_file = tmp_path / "sms.jsonl"
    w = worker(store, config, secrets, clock, sms_service(store, config, sms_file))
    open_alert(store, "interface_errors", "warning", clock(), ap_id=fleet[0])
    open_alert(store, "config_drift", "info", clock(), ap_id=fleet[1])
    done = w.run_once(store)
    assert done == {"routed": 1, "digest": 1, "digest_queued": 0, "sent": 2}
    assert sorted(m["to"] for m in sms_sent(sms_file)) == ["+966500000001", "+966500000002"]
    assert relay.messages == []


def test_relay_down_keeps_the_mail_and_sends_it_once_when_it_is_back(
        store, config, secrets, fleet, people, smtp_server, clock):  # noqa: F811
    config.mail.host, config.mail.port = "127.0.0.1", free_port()  # nothing listens there
    w = worker(store, config, secrets, clock, None)
    open_alert(store, "clients_over_capacity", "warning", clock(), ap_id=fleet[0])
    assert w.run_once(store)["failed"] == 2
    assert outbox.counts(store) == {"pending": 2}
    assert w.run_once(store).get("failed", 0) == 0  # backing off: not due yet
    config.mail.port = smtp_server.port  # the relay is back
    clock.advance(config.alerts.retry_first_s)
    assert w.run_once(store)["sent"] == 2
    smtp_server.wait(2)
    clock.advance(3600)
    w.run_once(store)
    assert len(smtp_server.messages) == 2
    assert outbox.counts(store) == {"sent": 2}
    assert {m["attempts"] for m in outbox.recent(store)} == {2}
    clock.advance(KEEP_S)  # kept for the Notifications page, then forgotten
    assert w.run_once(store)["pruned"] == 2
    assert outbox.counts(store) == {}


def test_webhook_retries_with_backoff_and_keeps_its_delivery_id(
        store, config, secrets, fleet, receiver, clock):
    rules.add_webhook(store, secrets, actor="admin", name="noc", url=receiver.url,
                      secret=receiver.secret)
    receiver.statuses = [503, 500]
    w = worker(store, config, secrets, clock, None)
    open_alert(store, "interface_errors", "warning", clock(), ap_id=fleet[0])
    assert w.run_once(store)["failed"] == 1
    clock.advance(config.alerts.retry_first_s)
    assert w.run_once(store)["failed"] == 1
    clock.advance(config.alerts.retry_first_s)
    assert w.run_once(store).get("failed", 0) == 0  # second backoff is twice as long
    clock.advance(config.alerts.retry_first_s)
    assert w.run_once(store)["sent"] == 1
    (hook,) = receiver.received
    assert hook["kind"] == "interface_errors"
    assert receiver.headers[0]["X-Oasis-Delivery"] == str(outbox.recent(store)[0]["id"])


def test_a_webhook_with_the_wrong_secret_is_refused_and_given_up(store, config, secrets, fleet,
                                                                 receiver, clock):
    rules.add_webhook(store, secrets, actor="admin", name="noc", url=receiver.url,
                      secret="another-secret-entirely")
    w = worker(store, config, secrets, clock, None)
    open_alert(store, "interface_errors", "warning", clock(), ap_id=fleet[0])
    assert w.run_once(store)["abandoned"] == 1
    assert receiver.bad_signatures == 1 and receiver.received == []


def test_ack_silence_and_maintenance_hold_notifications_back(
        store, config, secrets, fleet, people, relay, clock, tmp_path):
    sms_file = tmp_path / "sms.jsonl"
    w = worker(store, config, secrets, clock, sms_service(store, config, sms_file))
    site_id = store.conn.execute("SELECT site_id FROM aps WHERE id = ?",
                                 (fleet[0],)).fetchone()[0]
    silence = alert_rows.add_silence(store, actor="olga", starts_at=clock(),
                                     ends_at=clock() + 3600,
                                     reason="known flapping", kind="clients_over_capacity",
                                     site_id=site_id)
    maintenance.add(store, starts_at=clock() - 60, ends_at=clock() + 3600, actor="olga",
                    reason="firmware", ap_id=fleet[1])
    silenced = open_alert(store, "clients_over_capacity", "warning", clock(), ap_id=fleet[0])
    in_maintenance = open_alert(store, "ap_down", "critical", clock(), ap_id=fleet[1])
    told = open_alert(store, "ap_down", "critical", clock(), ap_id=fleet[0])
    done = w.run_once(store)
    assert (done["silenced"], done["maintenance"], done["routed"]) == (1, 1, 1)
    relay.wait(2)
    assert all("park-01" in m["Subject"] for m in relay.messages)

    # Unacknowledged, a critical alert is told again; acknowledged, it is not.
    clock.advance(config.alerts.remind_every_m * 60)
    w.run_once(store)
    relay.wait(4)
    assert len(sms_sent(sms_file)) == 4
    alert_rows.acknowledge(store, told, actor="olga", note="on my way")
    clock.advance(config.alerts.remind_every_m * 60)
    assert "routed" not in w.run_once(store)
    assert len(relay.messages) == 4 and len(sms_sent(sms_file)) == 4

    # Clearing a silenced alert tells no one; cancelling the silence lets new ones through.
    clear(store, silenced, clock())
    assert alert_rows.cancel_silence(store, silence, actor="olga")
    assert w.run_once(store) == {"held": 1, "digest_queued": 0}
    clear(store, in_maintenance, clock())
    assert w.run_once(store) == {"held": 1, "digest_queued": 0}
    assert len(relay.messages) == 4


def test_the_digest_sums_up_a_period_once(store, config, secrets, fleet, people, relay, clock):
    start, end = last_period(clock(), 24, config.municipality.timezone)
    assert end - start == 86400 and end <= clock() < end + 86400
    opened = open_alert(store, "config_drift", "info", start + 100, ap_id=fleet[0])
    cleared_one = open_alert(store, "clients_over_capacity", "warning", start - 100,
                             ap_id=fleet[1])
    clear(store, opened, start + 200)
    clear(store, cleared_one, start + 300)
    store.conn.execute("INSERT INTO alert_dispatch SELECT id, 'open', 0, 'earlier' FROM alerts")
    store.conn.execute("INSERT INTO alert_dispatch SELECT id, 'clear', 0, 'earlier' FROM alerts")
    w = worker(store, config, secrets, clock, None)
    assert w.run_once(store)["digest_queued"] == 2
    mails = relay.wait(2)
    english = next(m for to, m in mails if to == ["sam@amanah.example"])
    text = english.get_body(("plain",)).get_content()
    assert "Opened (1)" in text and "Cleared (2)" in text and "Configuration drift" in text
    assert w.run_once(store)["digest_queued"] == 0
    assert len(relay.messages) == 2


def test_the_rota_follows_local_time_and_wraps_past_midnight(store):
    night = rota.add_person(store, actor="admin", name="Night", email="n@amanah.example")
    rota.add_person(store, actor="admin", name="Day", email="d@amanah.example")
    rota.add_shift(store, actor="admin", person_id=night, starts="22:00", ends="06:00",
                   weekday=4)  # Thursday night into Friday
    # Friday 2026-12-04 03:00 in Riyadh (UTC+3) is 00:00 UTC.
    friday_3am = 1_796_342_400.0
    assert [p.name for p in rota.on_call(store.conn, friday_3am, "Asia/Riyadh")] == ["Night"]
    # At 07:00 nobody has a shift: everyone is on call.
    assert len(rota.on_call(store.conn, friday_3am + 4 * 3600, "Asia/Riyadh")) == 2
    with pytest.raises(rota.RotaError) as refused:
        rota.add_shift(store, actor="admin", person_id=night, starts="25:00", ends="06:00")
    assert refused.value.field == "starts"
    with pytest.raises(rota.RotaError):
        rota.add_person(store, actor="admin", name="Nobody")


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_every_notification_text_is_translated(locale):
    marked = {message for _line, message, _comments, _context in extract_from_file(
        "python", messages.__file__, keywords={"_": None, "N_": None})}
    assert len(marked) > 15
    with (messages.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale=locale) if m.id}
    assert sorted(m for m in marked if not catalogue.get(m)) == []


def test_old_news_is_not_sent_after_a_long_stop(store, config, secrets, fleet, people, relay,
                                                clock):
    open_alert(store, "ap_down", "critical", clock() - 3 * 86400, ap_id=fleet[0])
    fresh = open_alert(store, "ap_down", "critical", clock() - 60, ap_id=fleet[1])
    w = worker(store, config, secrets, clock, None)
    assert w.run_once(store)["routed"] == 1
    assert {m["alert_id"] for m in outbox.recent(store)} == {fresh}
    assert "alerts_opened_at" in query_plan(
        store, "SELECT id FROM alerts WHERE opened_at >= ?", (clock(),))


def query_plan(store, sql: str, params: tuple) -> str:
    """How the store's planner runs ``sql``. PostgreSQL is asked to avoid a sequential scan
    where an index serves: a test's few rows would not need one."""
    if store.backend != "postgresql":
        return " ".join(str(row) for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                                 params))
    raw = store.conn.raw
    with raw.transaction():
        raw.execute("SET LOCAL enable_seqscan = off")
        rows = raw.execute("EXPLAIN " + sql.replace("?", "%s"), params).fetchall()
    return " ".join(row[0] for row in rows)


def test_a_delay_keeps_a_flapping_alert_quiet(store, config, secrets, fleet, people, relay,
                                              clock):
    config.alerts.notify_delay_s = 60
    w = worker(store, config, secrets, clock, None)
    flapping = open_alert(store, "ap_down", "critical", clock(), ap_id=fleet[0])
    lasting = open_alert(store, "interface_errors", "warning", clock(), ap_id=fleet[1])
    assert "routed" not in w.run_once(store)  # both younger than the delay
    clock.advance(20)
    clear(store, flapping, clock())
    assert w.run_once(store) == {"short": 1, "held": 1, "digest_queued": 0}
    clock.advance(60)
    assert w.run_once(store)["routed"] == 1
    assert all("park-02" in m["Subject"] for _to, m in relay.wait(2))
    assert "[warning] Opened: Interface errors: park-02" in {m["Subject"] for m in relay.messages}
    assert all(m["alert_id"] == lasting for m in outbox.recent(store))
