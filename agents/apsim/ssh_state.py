"""What a simulated AP's SSH side and SNMP side share: its configuration, faults and reachability.

The SSH CLIs (``cli_openwrt``, ``cli_ios``) change the configuration; the SNMP side reads
`ApConfigState.ssids()` (and may `subscribe` to hear of each applied change) so an SSID pushed
over SSH can show up in SNMP, and `on_reachability` tells it when a push made the AP unreachable
and when it came back, so the AP stops answering SNMP as well as SSH. One lock per AP: the SSH
servers run on an asyncio loop, tests and the SNMP side may read from other threads.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OPENWRT_DEFAULT = {
    "radio0": ("wifi-device", {"type": "'mac80211'", "path": "'platform/soc/18000000.wifi'",
                               "band": "'2g'", "channel": "'1'", "htmode": "'HE20'",
                               "country": "'SA'", "disabled": "'0'"}),
    "radio1": ("wifi-device", {"type": "'mac80211'",
                               "path": "'platform/soc/18000000.wifi+1'", "band": "'5g'",
                               "channel": "'36'", "htmode": "'HE80'", "country": "'SA'",
                               "disabled": "'0'"}),
    "default_radio0": ("wifi-iface", {"device": "'radio0'", "network": "'lan'", "mode": "'ap'",
                                      "ssid": "'OpenWrt'", "encryption": "'none'"}),
}

IOS_DEFAULT = """version 15.3
hostname {hostname}
!
username admin privilege 15 secret 5 $1$sim$simulated
!
dot11 ssid factory
 authentication open
 guest-mode
!
interface Dot11Radio0
 channel least-congested
 ssid factory
 station-role root
 no shutdown
!
interface Dot11Radio1
 channel least-congested
 station-role root
 shutdown
!
interface GigabitEthernet0
 no ip address
!
interface BVI1
 ip address dhcp
!
line vty 0 4
 login local
 transport input ssh
!
end
"""


@dataclass
class SshFaults:
    """Failures to inject on demand; the mid-push and after-apply ones fire once."""

    auth_failure: bool = False
    #: Stop answering (keep the session open, send nothing) after this many config commands.
    hang_after_commands: int | None = None
    #: After the next applied change, answer neither SSH nor SNMP for this many seconds.
    unreachable_after_apply: float | None = None


#: The password every simulated AP's SSH login accepts (a simulator, not a secret).
SIM_PASSWORD = "oasis-sim"


@dataclass
class ApConfigState:
    name: str
    platform: str                       # "openwrt" or "cisco_aironet"
    address: str
    username: str = "root"
    password: str = field(default=SIM_PASSWORD, repr=False)
    faults: SshFaults = field(default_factory=SshFaults)
    #: OpenWrt: UCI "wireless" sections name -> (type, {option: quoted value}).
    uci: dict = field(default_factory=dict)
    #: Cisco: the running-config text; ``startup`` is what ``write memory`` saved.
    running: str = ""
    startup: str = ""
    applied: int = 0                    # changes applied (uci commit+reload, IOS config exits)
    #: Also unreachable when this says so (the SNMP side's "unreachable" control).
    path_up: Callable[[], bool] | None = field(default=None, repr=False)
    _unreachable_until: float = 0.0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _listeners: list = field(default_factory=list, repr=False)
    _reachability_listeners: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.platform == "openwrt" and not self.uci:
            self.uci = {k: (t, dict(o)) for k, (t, o) in OPENWRT_DEFAULT.items()}
        if self.platform == "cisco_aironet" and not self.running:
            self.running = self.startup = IOS_DEFAULT.format(hostname=self.name)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def reachable(self) -> bool:
        if self.path_up is not None and not self.path_up():
            return False
        return time.monotonic() >= self._unreachable_until

    def make_unreachable(self, seconds: float) -> None:
        """Answer nothing for ``seconds``. Listeners hear False now and True when it ends
        (the end is scheduled on the running event loop, where the SSH servers live)."""
        self._unreachable_until = time.monotonic() + seconds
        self._tell_reachability(False)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(seconds, self._tell_reachability, True)

    def on_reachability(self, callback: Callable[["ApConfigState", bool], None]) -> None:
        """Call ``callback(ap, reachable)`` when a fault takes the AP off the air and back."""
        self._reachability_listeners.append(callback)

    def _tell_reachability(self, reachable: bool) -> None:
        for callback in list(self._reachability_listeners):
            callback(self, reachable)

    def subscribe(self, callback: Callable[["ApConfigState"], None]) -> None:
        """Call ``callback(ap)`` after every applied change (the SNMP side refreshes its view)."""
        self._listeners.append(callback)

    def ssids(self) -> list[str]:
        """SSIDs on the air, in radio order (what the SNMP side publishes)."""
        with self._lock:
            if self.platform == "openwrt":
                return [_unquote(opts.get("ssid", "''")) for _, (kind, opts) in
                        sorted(self.uci.items()) if kind == "wifi-iface"
                        and opts.get("disabled", "'0'") != "'1'"]
            out, radio = [], False
            for line in self.running.splitlines():
                if line.startswith("interface Dot11Radio"):
                    radio = True
                elif not line.startswith(" "):
                    radio = False
                elif radio and line.startswith(" ssid ") and line[6:] not in out:
                    out.append(line[6:])
            return out

    def applied_change(self) -> None:
        """A change took effect on the radios: count it, fire the one-shot fault, tell SNMP."""
        with self._lock:
            self.applied += 1
            seconds, self.faults.unreachable_after_apply = self.faults.unreachable_after_apply, None
        if seconds:
            self.make_unreachable(seconds)
        for callback in list(self._listeners):
            callback(self)


def _unquote(value: str) -> str:
    parts = shlex.split(value)
    return parts[0] if parts else ""
