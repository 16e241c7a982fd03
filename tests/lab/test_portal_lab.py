"""End to end over real packets: phones, park gateway, portal, broker and internet in
namespaces (see `tests.lab.portal_lab`). One lab serves the whole module; each test leaves
both clients captive for the next one."""

from __future__ import annotations

import re
import time

import pytest

from captive_portal.probes import PROBES
from core.contracts.signature import verify
from core.store import Store
from tests.lab.portal_lab import (
    API_URL,
    CLIENT_APS,
    CLIENT_MACS,
    GATEWAY_ID,
    GATEWAY_KEY,
    PORTAL_URL,
    PortalLab,
    lab_store_url,
    running_lab,
    signed_params,
)
from tests.support import require_root, require_tool

# store_backed: the lab's portal keeps its store where the pass says (lab_store_url)
pytestmark = [pytest.mark.lab, pytest.mark.timeout(240), pytest.mark.store_backed]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    require_root()
    for tool in ("nft", "dnsmasq", "mosquitto", "curl", "busybox"):
        require_tool(tool)
    with running_lab("cp", tmp_path_factory.mktemp("portal-lab"),
                     lab_store_url(request)) as portal_lab:
        yield portal_lab


@pytest.fixture
def clean(lab):
    """Both clients captive after the test, whatever it did."""
    yield lab
    for client in CLIENT_MACS:
        if not lab.captive(client):
            lab.logout(client)


def session_row(lab: PortalLab, mac: str):
    """The latest session of the client with ``mac``, found by its address: the portal erases
    a session's MAC when it ends."""
    client = next(name for name, known in CLIENT_MACS.items() if known == mac)
    store = Store(lab.store_path)
    try:
        return store.conn.execute(
            "SELECT state, end_reason, method, phone FROM portal_sessions WHERE ip = ? "
            "ORDER BY id DESC LIMIT 1", (lab.leases[client]["ip"],)).fetchone()
    finally:
        store.close()


def test_dhcp_lease_carries_the_captive_portal_api(lab):
    for client in CLIENT_MACS:
        lease = lab.leases[client]
        assert lease["ip"].startswith("10.77.0.")
        assert lease["router"] == "10.77.0.1"
        # busybox reports unnamed options as hex: option 114 is the RFC 8908 API URI.
        assert bytes.fromhex(lease["opt114"]).decode() == API_URL
    answer = lab.api("cl1")
    assert answer["captive"] is True
    assert answer["user-portal-url"].startswith(PORTAL_URL)


def test_http_is_redirected_with_a_valid_signature(lab):
    location = lab.portal_link("cl1")
    assert location.startswith(PORTAL_URL)
    params = signed_params(location)
    claim = verify(params, lambda gw: GATEWAY_KEY.encode() if gw == GATEWAY_ID else None,
                   time.time(), 60)
    assert claim.mac == CLIENT_MACS["cl1"]
    assert claim.ip == lab.leases["cl1"]["ip"]
    assert claim.url == "http://example.test/page?x=1"
    # cl1's AP tagged its DHCP with option 82: the gateway vouches for the AP too.
    assert claim.ap == CLIENT_APS["cl1"]
    other = verify(signed_params(lab.portal_link("cl2")),
                   lambda gw: GATEWAY_KEY.encode(), time.time(), 60)
    assert (other.mac, other.ap) == (CLIENT_MACS["cl2"], "")
    forged = dict(params, mac=CLIENT_MACS["cl2"])
    page = lab.curl("cl1", PORTAL_URL, "-G", *[a for k, v in forged.items()
                                               for a in ("--data-urlencode", f"{k}={v}")])
    assert page.status == 403


def test_walled_garden_names_are_open_before_login(lab):
    assert lab.captive("cl1")
    reply = lab.curl("cl1", "http://garden.test/hello")
    assert (reply.status, reply.body) == (200, "hello from the internet\n"), reply
    # dnsmasq put the address it resolved into the agent's set.
    garden = lab.ns["gw"].run("nft", "list", "set", "inet", "cp_gw", "garden_dns").stdout
    assert "203.0.113.20" in garden
    assert lab.captive("cl1")


def test_https_is_refused_at_once(lab):
    reply = lab.curl("cl1", "https://example.test/", timeout=5)
    assert reply.status == 0 and reply.exit_code == 7, reply  # connection refused (RST)
    assert reply.seconds < 1.0


def test_probes_lead_to_the_portal_before_login(lab):
    for probe in PROBES:
        reply = lab.curl("cl1", probe.url)
        assert reply.status == 302, (probe, reply)
        assert reply.location.startswith(PORTAL_URL)


def test_terms_login_opens_the_internet_for_that_client_only(clean):
    lab = clean
    assert lab.captive("cl1") and lab.captive("cl2")
    reply = lab.login_terms("cl1")
    assert reply.status == 303 and "/status" in reply.location, reply
    assert lab.online("cl1")
    assert lab.captive("cl2")
    https = lab.ns["cl1"].run("bash", "-c", "exec 3<>/dev/tcp/example.test/443; head -1 <&3",
                              check=False, timeout=5)
    assert "TLS-STAND-IN" in https.stdout
    for probe in PROBES:
        after = lab.curl("cl1", probe.url)
        assert (after.status, after.body.encode()) == (probe.status, probe.body), probe
        assert lab.curl("cl2", probe.url).status == 302
    answer = lab.api("cl1")
    assert answer["captive"] is False and 0 < answer["seconds-remaining"] <= 1800
    assert lab.api("cl2")["captive"] is True
    status = lab.status_page("cl1")
    assert 'id="time-left"' in status.body and 'id="logout"' in status.body
    assert session_row(lab, CLIENT_MACS["cl1"])[:3] == ("active", None, "terms")


def test_sms_login_opens_the_internet(clean):
    lab = clean
    reply = lab.login_sms("cl2", "0501234567")
    assert reply.status == 303, reply
    assert lab.online("cl2")
    assert lab.captive("cl1")
    assert session_row(lab, CLIENT_MACS["cl2"]) == ("active", None, "sms", "+966501234567")


def test_a_report_filed_over_the_wifi_is_located_at_the_phones_ap(clean):
    lab = clean
    lab.seed_walkway_ap()
    assert lab.login_terms("cl1", lang="en").status == 303
    reply = lab.file_report("cl1", category="lighting", description="Lamp 12 is out")
    assert reply.status == 200, reply
    assert "walkway-ap-07" in lab.curl("cl1", f"{PORTAL_URL}reports/new", "-b",
                                       str(lab.folder / "cookies-cl1")).body
    tracking = re.search(r"940-\d{4}-\d{6}", reply.body).group(0)
    store = Store(lab.store_path)
    try:
        row = store.conn.execute("SELECT site, ap, gateway_id FROM reports WHERE tracking = ?",
                                 (tracking,)).fetchone()
    finally:
        store.close()
    assert row == ("al-ahsa-walkway", "walkway-ap-07", GATEWAY_ID)


def test_logout_makes_the_client_captive_again(clean):
    lab = clean
    lab.login_terms("cl1")
    assert lab.online("cl1")
    reply = lab.logout("cl1")
    assert reply.status == 200, reply
    assert lab.captive("cl1")
    assert lab.curl("cl1", PROBES[0].url).status == 302
    assert session_row(lab, CLIENT_MACS["cl1"])[:2] == ("ended", "logout")


def test_session_expiry_makes_the_client_captive_again(clean):
    lab = clean
    lab.restart_portal(session_minutes=0.05)  # 3 seconds
    try:
        lab.login_terms("cl1")
        assert lab.online("cl1")
        lab.wait(lambda: lab.captive("cl1"), 10, "the session to expire")
        assert lab.api("cl1")["captive"] is True
        lab.wait(lambda: session_row(lab, CLIENT_MACS["cl1"])[:2] == ("ended", "expired"), 5,
                 "the portal to hear of the expiry")
    finally:
        lab.restart_portal()


def test_data_quota_makes_the_client_captive_again(clean):
    lab = clean
    lab.restart_portal(data_quota_mb=0.2)
    try:
        lab.login_terms("cl2")
        # The portal's own answer to the login already counts against the quota.
        assert 190_000 < lab.api("cl2")["bytes-remaining"] <= 200_000
        lab.curl("cl2", "http://example.test/bytes/400000")
        lab.wait(lambda: lab.captive("cl2"), 5, "the quota to end the session")
        lab.wait(lambda: session_row(lab, CLIENT_MACS["cl2"])[:2] == ("ended", "quota"), 5,
                 "the portal to hear of the quota")
    finally:
        lab.restart_portal()


def test_agent_restart_keeps_sessions(clean):
    lab = clean
    lab.login_terms("cl1")
    lab.stop("agent", kill=True)
    assert lab.online("cl1")  # the kernel enforces without the agent
    lab.start_agent()
    assert lab.online("cl1")
    assert lab.captive("cl2")
    assert lab.api("cl1")["captive"] is False
    assert lab.logout("cl1").status == 200  # the restarted agent still takes commands
    assert lab.captive("cl1")


def test_controller_down_keeps_existing_sessions(clean):
    lab = clean
    lab.login_terms("cl2")
    lab.stop("portal")
    lab.stop("mosquitto")
    try:
        assert lab.online("cl2")
        before = lab.api("cl2")["seconds-remaining"]
        lab.wait(lambda: lab.api("cl2")["seconds-remaining"] < before, 3,
                 "the agent to keep counting down")
        assert lab.online("cl2")
        assert lab.captive("cl1")
    finally:
        lab.start_broker()
        lab.start_portal()
    lab.wait(lambda: lab.login_terms("cl1").status == 303, 15,
             "a login once the controller is back")
    assert lab.online("cl1") and lab.online("cl2")


def test_idle_timeout_makes_the_client_captive_again(clean):
    lab = clean
    lab.restart_portal(idle_timeout_minutes=0.03)  # 1.8 seconds without a packet
    try:
        lab.login_terms("cl1")
        assert lab.online("cl1")
        # Only the gateway's own API from now on: it is not forwarded, so it is not traffic.
        lab.wait(lambda: lab.api("cl1")["captive"], 6, "the idle timeout")
        assert lab.captive("cl1")
        assert session_row(lab, CLIENT_MACS["cl1"])[:2] == ("ended", "idle")
    finally:
        lab.restart_portal()


def test_download_rate_is_limited_per_client(clean):
    lab = clean
    lab.restart_portal(rate_down_kbps=800, rate_up_kbps=400)  # 100 kB/s down, 1 s burst
    try:
        lab.login_terms("cl2")
        reply = lab.curl("cl2", "http://example.test/bytes/400000", "-o", "/dev/null",
                         timeout=15)
        assert reply.exit_code == 0, reply
        # 400 kB at 100 kB/s after a 100 kB burst: about 3 s, never the LAN's line rate.
        assert 2.0 < reply.seconds < 8, reply.seconds
        table = lab.ns["gw"].run("nft", "list", "table", "inet", "cp_gw").stdout
        assert "rc_u400_d800" in table
    finally:
        lab.restart_portal()
