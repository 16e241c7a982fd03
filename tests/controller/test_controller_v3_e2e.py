"""The controller process end to end over SNMPv3: the demo's v3 APs (SHA-256, Cisco AES-192)
polled on the fast path, and the simulator's v3 traps checked by the receiver against each AP's
user and the engine the poller discovered; a v3 trap from an AP the inventory has on v2c is
refused and counted, not turned into an event."""


import pytest

from tests.controller.controller_harness import api, controller_config, running_controller
from tests.support import wait_for

pytestmark = pytest.mark.store_backed  # the controller harness keeps its store

AP_COUNT = 10


@pytest.fixture
def running(tmp_path, mosquitto):
    config = controller_config(tmp_path, mosquitto, client_id="oasis-e2e-v3", aps=AP_COUNT,
                               first_address="127.0.11.1", snmp_timeout=0.5)
    config.apsim.v3_auth_proto, config.apsim.v3_priv_proto = "SHA256", "AES192C"
    config.apsim.trap_version = "3"
    # The demo seeds every fifth AP on SNMPv3, with the simulator's v3 protocols.
    with running_controller(config) as (controller, simulator, token):
        yield controller, simulator, token


def test_v3_aps_are_polled_and_their_v3_traps_become_events(running):
    controller, simulator, token = running

    def all_up():
        aps = api(controller, token, "aps")["aps"]
        return len(aps) == AP_COUNT and all(a.get("state") == "up" for a in aps) and aps
    aps = wait_for(all_up, timeout=30, what="every simulated AP up")
    v3 = sorted(a["name"] for a in aps if a["snmp_version"] == "3")
    v2c = sorted(a["name"] for a in aps if a["snmp_version"] == "2c")
    assert len(v3) == 2, aps

    simulator.reboot(v3[0])          # a coldStart, SNMPv3 authPriv, from the AP's engine
    wait_for(lambda: any(e["kind"] == "coldStart"
                         for e in api(controller, token, f"aps/{v3[0]}/events")["events"]),
             timeout=15, what="coldStart event from a v3 trap")
    snapshot = controller.monitoring.snapshot
    refused = snapshot.traps_v3_refused
    simulator.reboot(v2c[0])         # the inventory has this AP on v2c: no v3 user for it
    wait_for(lambda: snapshot.traps_v3_refused > refused, timeout=15,
             what="v3 trap from a v2c AP refused")
    assert not any(e["kind"] == "coldStart"
                   for e in api(controller, token, f"aps/{v2c[0]}/events")["events"])
    # The rebooted v3 AP is still polled: its engine boots went up and the poller followed.
    status = wait_for(lambda: (s := api(controller, token, f"aps/{v3[0]}/status"))
                      ["uptime_s"] < 60 and s, timeout=15, what="a poll after the reboot")
    assert status["state"] == "up"
