"""The branch <-> headquarters topology of the backhaul tests and benchmark.

    host (bhl1 10.201.3.2) -- (bhl0) branch router (bhp0 10.201.1.1 / bhb0 10.201.2.1)
        == primary  bhp0 <-> bhp1 10.201.1.2 ==
        == backup   bhb0 <-> bhb1 10.201.2.2 ==   headquarters (172.16.0.1: echo, receiver)

Faults are injected at headquarters' ingress in an nft chain at prerouting priority -300 (before
conntrack), so a "dead path" keeps carrier up; carrier loss is the far end going down, which the
branch sees as NO-CARRIER exactly like a cable pulled at the other side. Counters in the same
table count probes and stream packets per link, and a counter at the branch's egress counts
probes that leave by the wrong interface (a leak).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.lab.netns import Lab, Namespace

HQ_ADDRESS = "172.16.0.1"
LAN = "10.201.3.0/24"
HOST_ADDRESS = "10.201.3.2"
PROBE_PORT = 7007
STREAM_PORT = 9000


@dataclass(frozen=True)
class LinkPlan:
    name: str
    branch_if: str
    hq_if: str
    branch_ip: str
    hq_ip: str
    table: int
    priority: int
    fwmark: int


PRIMARY = LinkPlan("primary", "bhp0", "bhp1", "10.201.1.1", "10.201.1.2", 101, 10, 0x101)
BACKUP = LinkPlan("backup", "bhb0", "bhb1", "10.201.2.1", "10.201.2.2", 102, 20, 0x102)
LINKS = {plan.name: plan for plan in (PRIMARY, BACKUP)}

HQ_NFT = f"""
table inet bhlab {{
  counter probe_primary {{}}
  counter probe_backup {{}}
  counter stream_primary {{}}
  counter stream_backup {{}}
  counter stale_nat {{}}
  chain faults {{
  }}
  chain ingress {{
    type filter hook prerouting priority -300; policy accept;
    iifname "{PRIMARY.hq_if}" udp dport {PROBE_PORT} counter name probe_primary
    iifname "{BACKUP.hq_if}" udp dport {PROBE_PORT} counter name probe_backup
    jump faults
    iifname "{PRIMARY.hq_if}" udp dport {STREAM_PORT} counter name stream_primary
    iifname "{BACKUP.hq_if}" udp dport {STREAM_PORT} counter name stream_backup
    iifname "{PRIMARY.hq_if}" ip saddr {BACKUP.branch_ip} counter name stale_nat
  }}
}}
"""

BRANCH_NFT = f"""
table inet bhlab {{
  counter leak_primary {{}}
  counter leak_backup {{}}
  chain egress {{
    type filter hook postrouting priority 0; policy accept;
    meta mark {PRIMARY.fwmark:#x} oifname != "{PRIMARY.branch_if}" counter name leak_primary
    meta mark {BACKUP.fwmark:#x} oifname != "{BACKUP.branch_if}" counter name leak_backup
  }}
}}
"""


class BranchLab:
    """Builds the topology inside a ``Lab``; the lab's close tears it all down."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.branch = lab.namespace("br")
        self.hq = lab.namespace("hq")
        self.host = lab.namespace("host")
        for plan in (PRIMARY, BACKUP):
            lab.veth(self.branch, plan.branch_if, self.hq, plan.hq_if)
            self.branch.address(plan.branch_if, f"{plan.branch_ip}/30")
            self.hq.address(plan.hq_if, f"{plan.hq_ip}/30")
        lab.veth(self.host, "bhl1", self.branch, "bhl0")
        self.branch.address("bhl0", "10.201.3.1/24")
        self.host.address("bhl1", f"{HOST_ADDRESS}/24")
        self.host.ip("route", "add", "default", "via", "10.201.3.1")
        self.hq.ip("addr", "add", f"{HQ_ADDRESS}/32", "dev", "lo")
        for ns in (self.branch, self.hq):
            ns.sysctl("net.ipv4.ip_forward", "1")
            for scope in ("all", "default"):
                # Packets from the LAN arrive over the backup while HQ's route back still
                # names the primary: strict reverse-path filtering would drop them.
                ns.sysctl(f"net.ipv4.conf.{scope}.rp_filter", "0")
                ns.sysctl(f"net.ipv4.conf.{scope}.ignore_routes_with_linkdown", "1")
        for plan in (PRIMARY, BACKUP):
            self.branch.sysctl(f"net.ipv4.conf.{plan.branch_if}.ignore_routes_with_linkdown", "1")
            self.hq.sysctl(f"net.ipv4.conf.{plan.hq_if}.ignore_routes_with_linkdown", "1")
        # HQ's way back to the LAN: primary first, the kernel skips it while it has no carrier.
        self.hq.ip("route", "add", LAN, "via", PRIMARY.branch_ip, "metric", "10")
        self.hq.ip("route", "add", LAN, "via", BACKUP.branch_ip, "metric", "20")
        self.hq.nft(HQ_NFT)
        self.branch.nft(BRANCH_NFT)

    # -- faults ----------------------------------------------------------------------------

    def dead_path(self, link: str) -> None:
        """Drop everything arriving at HQ over ``link``; carrier stays up."""
        self._fault(f'iifname "{LINKS[link].hq_if}" drop')

    def random_loss(self, link: str, percent: int) -> None:
        """Drop ``percent``% of what arrives at HQ over ``link``, at random."""
        self._fault(f'iifname "{LINKS[link].hq_if}" numgen random mod 100 < {percent} drop')

    def clear_faults(self) -> None:
        self.hq.run("nft", "flush", "chain", "inet", "bhlab", "faults")

    def _fault(self, rule: str) -> None:
        self.clear_faults()
        self.hq.run("nft", f"add rule inet bhlab faults {rule}")

    def snat_backup(self) -> None:
        """Source-NAT what leaves over the backup to the backup's address.

        SNAT, not masquerade: the kernel itself kills a masqueraded flow whose output interface
        changes, while an SNAT entry stays and keeps the backup's address after failback.
        """
        self.branch.nft(f"""
table ip bhnat {{
  chain post {{
    type nat hook postrouting priority 100; policy accept;
    oifname "{BACKUP.branch_if}" snat to {BACKUP.branch_ip}
  }}
}}
""")

    def carrier(self, link: str, up: bool) -> None:
        """Take HQ's end of ``link`` down (the branch loses carrier) or up again."""
        self.hq.ip("link", "set", LINKS[link].hq_if, "up" if up else "down")

    # -- observations ----------------------------------------------------------------------

    def counter(self, name: str) -> int:
        ns = self.branch if name.startswith("leak_") else self.hq
        return ns.nft_counter("bhlab", name)

    def active_interface(self, metric: int = 50) -> str | None:
        """Interface of the branch's active default route (the agent's ``route_metric``)."""
        text = self.branch.ip("route", "show", "default", "metric", str(metric)).stdout
        words = text.split()
        return words[words.index("dev") + 1] if "dev" in words else None

    def agent_config(self, tmp_dir, *, holddown_s: float = 1.5, interval_ms: int = 20,
                     mqtt_host: str = "", mqtt_port: int = 1883, extra: str = "") -> str:
        """Write the agent's TOML for this topology; returns its path."""
        links = "".join(f"""
[[backhaul.links]]
name = "{plan.name}"
interface = "{plan.branch_if}"
gateway = "{plan.hq_ip}"
probe_peer = "{HQ_ADDRESS}"
table = {plan.table}
priority = {plan.priority}
fwmark = {plan.fwmark:#x}
""" for plan in (PRIMARY, BACKUP))
        text = f"""
[backhaul]
branch = "branch-lab"
interval_ms = {interval_ms}
holddown_s = {holddown_s}
probe_port = {PROBE_PORT}
routes = ["default"]
spool = "{tmp_dir}/spool.db"
state_file = "{tmp_dir}/state.json"
state_every_s = 1.0
{extra}
{links}
[mqtt]
host = "{mqtt_host}"
port = {mqtt_port}
client_id = "oasis-backhaul-lab"
"""
        path = f"{tmp_dir}/backhaul.toml"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def start_responder(self) -> None:
        self.hq.python("-m", "agents.backhaul", "responder", "--listen",
                       f"0.0.0.0:{PROBE_PORT}")

    def start_agent(self, config_path: str, log_path: str):
        with open(log_path, "ab") as log:
            return self.branch.python("-m", "agents.backhaul", "run", "--config", config_path,
                                      stderr=log)


__all__ = ["BACKUP", "HQ_ADDRESS", "HOST_ADDRESS", "LINKS", "PRIMARY", "BranchLab",
           "STREAM_PORT", "Namespace"]
