"""The agent's nftables table: sets for authorised clients, a fixed number of rules.

Authorised clients are elements of three sets, never rules, so a login or logout is one small
transaction whatever the number of clients:

- ``clients``  (MAC . IP) decides, in the NAT hook, whose HTTP is *not* sent to the redirector;
- ``up``       (MAC . IP, with counter) lets a client's packets out and counts its upload;
- ``down``     (IP, with counter) lets packets in to it and counts its download.

All three carry the session's remaining time as element timeout, so the kernel ends a session
on time even if the agent is not running. Per-client rate limits use one *rate class* per
distinct (up, down) pair: a membership set plus two per-class rules whose ``update @meter``
gives every member its own token bucket. Unauthorised clients get DNS, DHCP, the gateway's own
services and the walled garden (static ``garden`` set, plus ``garden_dns`` filled by dnsmasq's
nftset); their HTTP goes to the redirector, TCP to anywhere else gets a reset (HTTPS fails at
once instead of timing out) and all other traffic an ICMP "administratively prohibited".
IPv6 from the visitor LAN is refused outright: clients are identified by IPv4 and must not
bypass the portal over v6.

A phone keeps the connections it opened while captive (HTTP keep-alive, preconnects), and
nftables decides NAT only for a connection's first packet: after login those connections would
still reach the redirector and show the portal again. So a client in ``clients`` that still
talks over a captured (DNAT'd) connection gets a TCP reset (chain ``released``, before NAT so
the reset carries the address the phone connected to), and its browser retries on a new
connection that goes out. The reset is one rule matched in the kernel, where
deleting the client's conntrack entries at login would mean a netlink dump of every entry
(pyroute2 filters in user space) on the login path, a cost that grows with every connection
through the gateway (not measured here; the login benchmark runs 10,000 clients).
After logout or expiry the forward chain resets the client's TCP at its next packet, so the
next tap shows the portal instead of hanging.

`base_script` is idempotent and keeps set elements: re-running it after an agent restart
rebuilds the chains but no authorised client loses access.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.gateway.config import GatewayConfig

FAMILY = "inet"
#: Chains run before most other filter/NAT rules so a visitor never reaches them unchecked.
_FILTER_PRIORITY = "filter - 10"
_NAT_PRIORITY = "dstnat - 10"
#: Between conntrack (-200) and NAT (-100): the connection's state is known while the packet
#: still carries the address the phone sent it to, so a reset from here comes from that address.
_RELEASED_PRIORITY = "-150"


@dataclass(frozen=True)
class RateClass:
    """One (upload, download) rate pair in kbit/s; its sets and rules are named after it."""

    up_kbps: int
    down_kbps: int

    @property
    def name(self) -> str:
        return f"rc_u{self.up_kbps}_d{self.down_kbps}"

    @classmethod
    def from_name(cls, name: str) -> RateClass | None:
        parts = name.split("_")
        if len(parts) != 3 or parts[0] != "rc" or not parts[1][1:].isdigit() \
                or not parts[2][1:].isdigit():
            return None
        return cls(int(parts[1][1:]), int(parts[2][1:]))


def _limit(kbps: int) -> str:
    # kbit/s to kbytes/s; a one-second burst lets TCP ramp up without tripping the meter.
    kbytes = max(1, kbps // 8)
    return f"limit rate over {kbytes} kbytes/second burst {kbytes} kbytes"


def base_script(config: GatewayConfig, garden: list[str]) -> str:
    """Create or refresh the table; set elements (the authorised clients) are kept."""
    t, lan, size = config.table, config.lan_interface, config.max_clients
    own = config.lan_address
    services = f"{{ 53, {config.redirect_port}, {config.api_port} }}"
    garden_elements = f"add element {FAMILY} {t} garden {{ {', '.join(garden)} }}\n" if garden \
        else ""
    return f"""\
add table {FAMILY} {t}
add set {FAMILY} {t} clients {{ type ether_addr . ipv4_addr; flags timeout; size {size}; }}
add set {FAMILY} {t} up {{ type ether_addr . ipv4_addr; flags timeout; counter; size {size}; }}
add set {FAMILY} {t} down {{ type ipv4_addr; flags timeout; counter; size {size}; }}
add set {FAMILY} {t} garden {{ type ipv4_addr; flags interval; }}
add set {FAMILY} {t} garden_dns {{ type ipv4_addr; flags timeout; timeout 1h; }}
flush set {FAMILY} {t} garden
{garden_elements}\
add chain {FAMILY} {t} prerouting {{ type nat hook prerouting priority {_NAT_PRIORITY}; policy accept; }}
add chain {FAMILY} {t} released {{ type filter hook prerouting priority {_RELEASED_PRIORITY}; policy accept; }}
add chain {FAMILY} {t} input {{ type filter hook input priority {_FILTER_PRIORITY}; policy accept; }}
add chain {FAMILY} {t} forward {{ type filter hook forward priority {_FILTER_PRIORITY}; policy accept; }}
add chain {FAMILY} {t} captive_http
add chain {FAMILY} {t} from_client
add chain {FAMILY} {t} to_client
add chain {FAMILY} {t} authorised_up
add chain {FAMILY} {t} authorised_down
add chain {FAMILY} {t} rate_up
add chain {FAMILY} {t} rate_down
flush chain {FAMILY} {t} prerouting
flush chain {FAMILY} {t} released
flush chain {FAMILY} {t} input
flush chain {FAMILY} {t} forward
flush chain {FAMILY} {t} captive_http
flush chain {FAMILY} {t} from_client
flush chain {FAMILY} {t} to_client
flush chain {FAMILY} {t} authorised_up
flush chain {FAMILY} {t} authorised_down
flush chain {FAMILY} {t} rate_up
flush chain {FAMILY} {t} rate_down
add rule {FAMILY} {t} prerouting iifname "{lan}" meta nfproto ipv4 tcp dport 80 jump captive_http
add rule {FAMILY} {t} captive_http ip daddr {own} return
add rule {FAMILY} {t} captive_http ether saddr . ip saddr @clients return
add rule {FAMILY} {t} captive_http ip daddr @garden return
add rule {FAMILY} {t} captive_http ip daddr @garden_dns return
add rule {FAMILY} {t} captive_http meta l4proto tcp dnat ip to {own}:{config.redirect_port}
add rule {FAMILY} {t} released iifname "{lan}" tcp dport 80 ct status dnat \
ether saddr . ip saddr @clients reject with tcp reset
add rule {FAMILY} {t} input iifname "{lan}" meta nfproto ipv6 drop
add rule {FAMILY} {t} input iifname "{lan}" ct state established,related accept
add rule {FAMILY} {t} input iifname "{lan}" udp dport {{ 53, 67 }} accept
add rule {FAMILY} {t} input iifname "{lan}" tcp dport {services} accept
add rule {FAMILY} {t} input iifname "{lan}" icmp type {{ echo-request }} accept
add rule {FAMILY} {t} input iifname "{lan}" meta l4proto tcp reject with tcp reset
add rule {FAMILY} {t} input iifname "{lan}" reject with icmpx admin-prohibited
add rule {FAMILY} {t} forward iifname "{lan}" jump from_client
add rule {FAMILY} {t} forward oifname "{lan}" jump to_client
add rule {FAMILY} {t} from_client meta nfproto ipv6 reject with icmpx admin-prohibited
add rule {FAMILY} {t} from_client ether saddr . ip saddr @up goto authorised_up
add rule {FAMILY} {t} from_client ip daddr @garden accept
add rule {FAMILY} {t} from_client ip daddr @garden_dns accept
add rule {FAMILY} {t} from_client meta l4proto tcp reject with tcp reset
add rule {FAMILY} {t} from_client reject with icmpx admin-prohibited
add rule {FAMILY} {t} to_client ip daddr @down goto authorised_down
add rule {FAMILY} {t} to_client ip saddr @garden accept
add rule {FAMILY} {t} to_client ip saddr @garden_dns accept
add rule {FAMILY} {t} to_client drop
add rule {FAMILY} {t} authorised_up jump rate_up
add rule {FAMILY} {t} authorised_up accept
add rule {FAMILY} {t} authorised_down jump rate_down
add rule {FAMILY} {t} authorised_down accept
"""


def rate_class_script(table: str, rate: RateClass, size: int) -> str:
    """The sets and the two rules of one rate class (added once, when first used)."""
    n = rate.name
    script = f"add set {FAMILY} {table} {n} {{ type ipv4_addr; flags timeout; size {size}; }}\n"
    for direction in ("up", "down"):
        script += (f"add set {FAMILY} {table} {n}_{direction} {{ type ipv4_addr; "
                   f"flags dynamic,timeout; timeout 1m; size {size}; }}\n")
    if rate.up_kbps:
        script += (f"add rule {FAMILY} {table} rate_up ip saddr @{n} update @{n}_up "
                   f"{{ ip saddr {_limit(rate.up_kbps)} }} drop\n")
    if rate.down_kbps:
        script += (f"add rule {FAMILY} {table} rate_down ip daddr @{n} update @{n}_down "
                   f"{{ ip daddr {_limit(rate.down_kbps)} }} drop\n")
    return script


def allow_script(table: str, mac: str, ip: str, timeout_ms: int,
                 rate: RateClass | None) -> str:
    """Add one client to the sets (and its rate class) for ``timeout_ms``."""
    timeout = f"timeout {max(1000, timeout_ms)}ms"
    script = (f"add element {FAMILY} {table} clients {{ {mac} . {ip} {timeout} }}\n"
              f"add element {FAMILY} {table} up {{ {mac} . {ip} {timeout} }}\n"
              f"add element {FAMILY} {table} down {{ {ip} {timeout} }}\n")
    if rate is not None:
        script += f"add element {FAMILY} {table} {rate.name} {{ {ip} {timeout} }}\n"
    return script


def deny_script(table: str, mac: str, ip: str, rate: RateClass | None) -> str:
    """Remove one client from the sets (fails as a whole if an element is already gone)."""
    script = (f"delete element {FAMILY} {table} clients {{ {mac} . {ip} }}\n"
              f"delete element {FAMILY} {table} up {{ {mac} . {ip} }}\n"
              f"delete element {FAMILY} {table} down {{ {ip} }}\n")
    if rate is not None:
        script += f"delete element {FAMILY} {table} {rate.name} {{ {ip} }}\n"
    return script


def delete_table_script(table: str) -> str:
    return f"delete table {FAMILY} {table}\n"


__all__ = ["FAMILY", "RateClass", "allow_script", "base_script",
           "delete_table_script", "deny_script", "rate_class_script"]
