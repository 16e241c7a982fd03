"""The failover systems the backhaul benchmark compares, each driven in the same lab topology.

- ``AgentSystem``: our agent (agents/backhaul) with its shipped decision defaults.
- ``KeepalivedSystem``: keepalived 2.2 VRRP on the branch's LAN side, a ``vrrp_script`` that
  pings the primary's gateway (interval 1 s, fall 1, rise 1: keepalived's defaults) and
  ``track_interface``; while MASTER it installs the default route via the primary
  (``virtual_routes``), in FAULT it removes it and a static default via the backup carries on.
- ``FrrBfdSystem``: FRR 8.4 ``bfdd`` with default timers (300 ms x 3). FRR 8.4's staticd has no
  BFD hook (that came in 8.5), so BFD drives the route through eBGP sessions over each link
  (HQ announces 172.16.0.1/32; the primary has the higher weight): the smallest FRR set-up in
  which BFD withdraws a route.

Each system counts its own failovers (for the long random-loss run): the agent's state file,
keepalived's notify script, FRR's BFD session-down counter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.lab.branch import BACKUP, HQ_ADDRESS, PRIMARY, BranchLab

FRR_DIR = Path("/usr/lib/frr")
RUN_FRR = Path("/var/run/frr")


def wait_until(predicate, timeout: float, interval: float = 0.01, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def egress(topo: BranchLab) -> str | None:
    """The interface the branch sends headquarters' traffic out of right now."""
    result = topo.branch.ip("route", "get", HQ_ADDRESS, check=False)
    words = result.stdout.split()
    return words[words.index("dev") + 1] if "dev" in words else None


class FailoverSystem:
    name = "system"
    #: How long after the primary is healthy again the system may take to fail back.
    failback_timeout_s = 15.0

    def __init__(self, topo: BranchLab, folder: Path) -> None:
        self.topo = topo
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        raise NotImplementedError

    def failovers(self) -> int:
        raise NotImplementedError

    def cpu_seconds(self) -> float | None:
        return None

    def stop(self) -> None:
        """The lab's close stops the processes; systems with daemons outside it override."""


class AgentSystem(FailoverSystem):
    name = "oasis agent"
    failback_timeout_s = 10.0

    def __init__(self, topo: BranchLab, folder: Path, holddown_s: float = 1.0,
                 interval_ms: int = 20) -> None:
        super().__init__(topo, folder)
        self.holddown_s = holddown_s
        self.interval_ms = interval_ms
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.topo.start_responder()
        config = self.topo.agent_config(self.folder, holddown_s=self.holddown_s,
                                        interval_ms=self.interval_ms)
        self.process = self.topo.start_agent(config, str(self.folder / "agent.log"))
        wait_until(lambda: egress(self.topo) == PRIMARY.branch_if and self._state().get(
            "links", [{}])[0].get("replies", 0) > 10, 10, what="agent ready")

    def _state(self) -> dict:
        try:
            return json.loads((self.folder / "state.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def failovers(self) -> int:
        text = (self.folder / "agent.log").read_text()
        return text.count(" failover ")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the agent process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


KEEPALIVED_CONF = """
global_defs {{
  router_id bh_branch
  script_user root
}}
vrrp_script chk_primary {{
  script "{ping} -n -q -c1 -W1 -I {p_if} {p_gw}"
  interval 1
  fall 1
  rise 1
}}
vrrp_instance bh_primary_path {{
  state MASTER
  interface bhl0
  virtual_router_id 51
  priority 100
  advert_int 1
  track_interface {{
    {p_if}
  }}
  track_script {{
    chk_primary
  }}
  virtual_ipaddress {{
    10.201.3.254/24
  }}
  virtual_routes {{
    default via {p_gw} dev {p_if} metric 40
  }}
  notify "{notify}"
}}
"""


class KeepalivedSystem(FailoverSystem):
    name = "keepalived VRRP+track"
    failback_timeout_s = 15.0

    def start(self) -> None:
        notify = self.folder / "notify.sh"
        notify.write_text(f"#!/bin/sh\necho \"$3\" >> {self.folder}/states\n")
        notify.chmod(0o755)
        conf = self.folder / "keepalived.conf"
        conf.write_text(KEEPALIVED_CONF.format(ping=_which("ping"), p_if=PRIMARY.branch_if,
                                               p_gw=PRIMARY.hq_ip, notify=notify))
        self.topo.branch.ip("route", "add", "default", "via", BACKUP.hq_ip, "dev",
                            BACKUP.branch_if, "metric", "60")
        with (self.folder / "keepalived.log").open("ab") as log:
            self.topo.branch.popen(
                _which("keepalived"), "--dont-fork", "--log-console", "--vrrp",
                "-f", str(conf), "-p", str(self.folder / "k.pid"),
                "-r", str(self.folder / "v.pid"), stdout=log, stderr=log)
        wait_until(lambda: egress(self.topo) == PRIMARY.branch_if, 15, what="keepalived MASTER")

    def failovers(self) -> int:
        path = self.folder / "states"
        return path.read_text().split().count("FAULT") if path.exists() else 0


FRR_BRANCH = """
frr defaults traditional
hostname bh-branch
log stdout informational
!
router bgp 65001
 bgp router-id 10.201.3.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {p_gw} remote-as 65000
 neighbor {p_gw} bfd
 neighbor {p_gw} timers connect 1
 neighbor {b_gw} remote-as 65000
 neighbor {b_gw} bfd
 neighbor {b_gw} timers connect 1
 address-family ipv4 unicast
  neighbor {p_gw} weight 200
 exit-address-family
!
"""

FRR_HQ = """
frr defaults traditional
hostname bh-hq
log stdout informational
!
router bgp 65000
 bgp router-id 172.16.0.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {p_br} remote-as 65001
 neighbor {p_br} bfd
 neighbor {p_br} timers connect 1
 neighbor {b_br} remote-as 65001
 neighbor {b_br} bfd
 neighbor {b_br} timers connect 1
 address-family ipv4 unicast
  network {hq}/32
 exit-address-family
!
"""


class FrrBfdSystem(FailoverSystem):
    name = "FRR bfdd (BFD+BGP)"
    failback_timeout_s = 20.0

    def start(self) -> None:
        values = dict(p_gw=PRIMARY.hq_ip, b_gw=BACKUP.hq_ip, p_br=PRIMARY.branch_ip,
                      b_br=BACKUP.branch_ip, hq=HQ_ADDRESS)
        self.spaces = {}
        for ns, template in ((self.topo.branch, FRR_BRANCH), (self.topo.hq, FRR_HQ)):
            space = ns.name
            self.spaces[ns.name] = space
            # The daemons drop to the frr user: their run folder and config must suit it.
            (RUN_FRR / space).mkdir(parents=True, exist_ok=True)
            shutil.chown(RUN_FRR / space, "frr", "frr")
            conf = self.folder / f"{space}.conf"
            conf.write_text(template.format(**values))
            for daemon in ("zebra", "bfdd", "bgpd"):
                with (self.folder / f"{space}-{daemon}.log").open("ab") as log:
                    ns.popen(str(FRR_DIR / daemon), "-N", space, "-f", str(conf),
                             "-i", str(RUN_FRR / space / f"{daemon}.pid"),
                             stdout=log, stderr=log)
                if daemon == "zebra":
                    wait_until(lambda: (RUN_FRR / space / "zserv.api").exists(), 10,
                               what="zebra socket")
        wait_until(lambda: egress(self.topo) == PRIMARY.branch_if, 60, interval=0.2,
                   what="BGP route via the primary")
        wait_until(lambda: self._bfd_up() == 2, 30, interval=0.2, what="both BFD sessions up")

    def _vtysh(self, command: str) -> str:
        return subprocess.run(["vtysh", "-N", self.topo.branch.name, "-c", command],
                              capture_output=True, text=True, timeout=10, check=False).stdout

    def _bfd_peers(self) -> list[dict]:
        try:
            return json.loads(self._vtysh("show bfd peers counters json") or "[]")
        except json.JSONDecodeError:
            return []

    def _bfd_up(self) -> int:
        try:
            peers = json.loads(self._vtysh("show bfd peers json") or "[]")
        except json.JSONDecodeError:
            return 0
        return sum(1 for peer in peers if peer.get("status") == "up")

    def failovers(self) -> int:
        return sum(peer.get("session-down", 0) for peer in self._bfd_peers()
                   if peer.get("peer") == PRIMARY.hq_ip)

    def stop(self) -> None:
        for space in getattr(self, "spaces", {}).values():
            for leftover in (RUN_FRR / space).glob("*"):
                leftover.unlink(missing_ok=True)
            (RUN_FRR / space).rmdir()


def _which(name: str) -> str:
    for folder in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    raise FileNotFoundError(f"{name} is not installed (apt-get install {name})")


SYSTEMS = {"agent": AgentSystem, "keepalived": KeepalivedSystem, "frr": FrrBfdSystem}

__all__ = ["SYSTEMS", "AgentSystem", "FailoverSystem", "FrrBfdSystem", "KeepalivedSystem",
           "egress", "wait_until"]
