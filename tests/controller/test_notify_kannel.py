"""A critical alert's SMS to the on-call person through a real Kannel (bearerbox + smsbox, with
fakesmsc as the operator's SMSC): it leaves through the portal's SMS gateway and arrives as
UCS-2 Arabic."""

from __future__ import annotations

import time

from captive_portal.config import SmsConfig
from captive_portal.sms import SmsService, make_driver
from controller.notify import rota
from core import alerts as alert_rows
from tests.controller.alert_fleet import add_aps
from tests.controller.notify_harness import Clock, worker
from tests.peers_kannel import kannel_gateway  # noqa: F401
from tests.support import free_port

SECRET = "hooks-secret-0123456789"


def test_an_alert_sms_reaches_the_smsc_in_arabic(config, store, secrets,
                                                 kannel_gateway):  # noqa: F811
    callback_url = f"http://127.0.0.1:{free_port()}"  # receipts are not followed here
    kannel = kannel_gateway(callback_url, SECRET)
    config.sms = SmsConfig(driver="kannel", url=kannel.sendsms_url, username=kannel.username,
                           password=kannel.password, callback_url=callback_url,
                           hook_secret=SECRET, sender="AMANAH")
    config.sms.validate()
    sms = SmsService(lambda: store, make_driver(config.sms), config.sms)
    (ap_id,) = add_aps(store, ("park-07", None))
    rota.add_person(store, actor="admin", name="Noura", phone="+966551234567", locale="ar")
    clock = Clock(time.time())
    w = worker(store, config, secrets, clock, sms)
    with store.transaction() as conn:
        alert_rows.open_alert(conn, "ap_down", "critical", {}, at=clock(), ap_id=ap_id)

    assert w.run_once(store)["sent"] == 1
    (mt,) = kannel.fake.wait(1)
    assert mt.receiver.endswith("966551234567")
    assert "park-07" in mt.text and "نقطة الوصول متوقفة" in mt.text
    state = store.conn.execute("SELECT state, purpose FROM sms_messages").fetchone()
    assert state[0] in ("submitted", "delivered") and state[1] == "alert"
