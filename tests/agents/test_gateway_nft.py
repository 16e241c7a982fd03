"""The agent's table on real nftables, in a throw-away network namespace (root)."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from pyroute2.netns import popns, pushns

from agents.gateway.config import GatewayConfig
from agents.gateway.enforcer import Enforcer
from agents.gateway.nft import Nftables
from agents.gateway.sessions import SessionBook
from tests.support import require_root, require_tool, wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def netns():
    """This test's thread runs in a fresh namespace: libnftables and `nft` act on it only."""
    require_root()
    require_tool("nft")
    name = f"cpu{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    pushns(name)
    try:
        yield name
    finally:
        popns()
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def enforcer(netns, tmp_path):
    config = GatewayConfig(lan_interface="lo", lan_address="127.0.0.1", table="cp_unit")
    nft = Nftables()
    assert nft.in_process
    enforcer = Enforcer(config, nft, SessionBook(tmp_path / "gw.db"), ["192.0.2.10"])
    enforcer.install()
    yield enforcer
    nft.close()


def grant(n: int, seconds: float = 600, **limits) -> dict:
    values = dict(session_id=n, mac=f"02:00:00:00:{n >> 8:02x}:{n & 255:02x}",
                  ip=f"10.77.{n >> 8}.{n & 255}", expires_at=time.time() + seconds,
                  quota_bytes=0, idle_timeout_s=0, rate_up_kbps=0, rate_down_kbps=0)
    values.update(limits)
    return values


_VERDICT = re.compile(r"\b(accept|drop|reject|jump|goto|return|dnat)\b")


def rule_count(enforcer) -> int:
    """Rules in the table (lines with a verdict), whatever the number of set elements."""
    listing = enforcer.nft.list_table("inet", enforcer.config.table)
    return sum(1 for line in listing.splitlines()
               if _VERDICT.search(line) and "elements" not in line and "policy" not in line)


def test_logins_add_elements_never_rules(enforcer):
    rules = rule_count(enforcer)
    for n in range(1, 201):
        enforcer.allow(grant(n))
    assert rule_count(enforcer) == rules
    listing = enforcer.nft.list_set("inet", "cp_unit", "up")
    assert listing.count("counter packets") == 200
    for n in range(1, 101):
        assert enforcer.deny(grant(n)["mac"]) is not None
    assert enforcer.nft.list_set("inet", "cp_unit", "down").count("counter packets") == 100


def test_reinstalling_keeps_authorised_clients(enforcer):
    enforcer.allow(grant(1, rate_up_kbps=256, rate_down_kbps=1024))
    enforcer.install()  # what a restarted agent does
    assert "02:00:00:00:00:01 . 10.77.0.1" in enforcer.nft.list_set("inet", "cp_unit", "up")
    table = enforcer.nft.list_table("inet", "cp_unit")
    assert "update @rc_u256_d1024_up { ip saddr limit rate over 32 kbytes/second" in table
    assert "update @rc_u256_d1024_down { ip daddr limit rate over 128 kbytes/second" in table


def test_the_kernel_ends_a_session_on_time(enforcer):
    enforcer.allow(grant(7, seconds=1.2))
    wait_for(lambda: "10.77.0.7" not in enforcer.nft.list_set("inet", "cp_unit", "down"),
             timeout=5, what="the element timeout")
    assert [end.reason for end in enforcer.sweep()] == ["expired"]


def test_teardown_removes_only_our_table(enforcer):
    enforcer.nft.run("add table inet someone_else")
    enforcer.teardown()
    assert not enforcer.nft.table_exists("inet", "cp_unit")
    assert enforcer.nft.table_exists("inet", "someone_else")
