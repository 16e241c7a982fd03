"""SSH for simulated APs: one asyncssh server per AP, on the AP's own 127.x address.

Each server hands an interactive session to the AP's platform CLI (``cli_openwrt`` or
``cli_ios``). Faults come from the AP's `SshFaults`: refused passwords, a session that goes
silent after N configuration commands (a timeout mid-push), and an AP that answers nothing for a
while after an applied change (see `ApConfigState.applied_change`). An unreachable AP drops new
connections before the SSH banner, as a host whose uplink is gone looks to a client.

`SshSimulator` runs the servers on an event loop in its own thread (tests, benchmark);
`start_servers` runs them on the caller's loop (the apsim process). ``python -m
agents.apsim.ssh_server`` serves a fleet from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import threading
import warnings
from collections.abc import Iterable

from cryptography.utils import CryptographyDeprecationWarning

# asyncssh (2.24) names cryptography's DSA key classes in its annotations, and cryptography 51
# deprecates DSA: importing asyncssh printed ten warnings on stderr before any CLI output. The
# simulator offers no ssh-dss host keys, so the warning is about code it never runs. The filter
# covers asyncssh's own modules and this one category only: a DSA deprecation raised anywhere
# else still shows, and so does any other warning from asyncssh.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning,
                        module=r"asyncssh(\.|$)")

import asyncssh  # noqa: E402

from agents.apsim import cli_ios, cli_openwrt
from agents.apsim.device import SimulatedAp
from agents.apsim.ssh_state import ApConfigState

log = logging.getLogger(__name__)


class _ApSshServer(asyncssh.SSHServer):
    def __init__(self, ap: ApConfigState):
        self.ap = ap

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        if not self.ap.reachable:
            conn.abort()

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        if self.ap.faults.auth_failure:
            return False
        return username == self.ap.username and password == self.ap.password


def _cli_for(ap: ApConfigState):
    if ap.platform == "cisco_aironet":
        return cli_ios.IosCli(ap)
    return cli_openwrt.OpenWrtShell(ap)


def _is_config_command(cli, line: str) -> bool:
    if isinstance(cli, cli_ios.IosCli):
        return cli_ios.is_config_command(cli, line)
    return cli_openwrt.is_config_command(line)


class _Terminal:
    """The server side of an interactive terminal: echo, line assembly, CLI dispatch.

    Echo is done here rather than by asyncssh's line editor so that every Enter gives exactly
    "\\r\\n" and a prompt, however the client's keystrokes arrive (netmiko sends newlines
    while earlier output is still in flight and reads the prompt off the last line).
    """

    def __init__(self, ap: ApConfigState):
        self.ap = ap
        self.cli = _cli_for(ap)
        self.line = ""
        self.last = ""
        self.commands = 0
        self.closed = False
        self.hung = False

    def start(self) -> str:
        return _crlf(self.cli.banner() + self.cli.prompt)

    def feed(self, data: str) -> str:
        """Consume typed characters; returns what the terminal shows in answer."""
        out: list[str] = []
        for char in data:
            if self.closed or self.hung:
                break
            if char in "\r\n":
                if char == "\n" and self.last == "\r":
                    self.last = char
                    continue
                self.last = char
                out.append("\r\n")
                out.append(self._enter(self.line))
                self.line = ""
            elif char in "\x7f\b":
                if self.line:
                    self.line = self.line[:-1]
                    out.append("\b \b")
            elif char >= " " or char == "\t":
                self.line += char
                out.append(char)
            self.last = char
        return "".join(out)

    def _enter(self, line: str) -> str:
        mode = getattr(self.cli, "mode", "enable")
        if line.strip() in ("exit", "logout") and mode in ("enable", "exec"):
            self.closed = True
            return ""
        if not self.ap.reachable:
            self.closed = True
            return ""
        if _is_config_command(self.cli, line):
            self.commands += 1
            limit = self.ap.faults.hang_after_commands
            if limit is not None and self.commands > limit:
                self.ap.faults.hang_after_commands = None
                self.hung = True      # from now on: silence until the client gives up
                return ""
        return _crlf(self.cli.run(line) + self.cli.prompt)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


async def _session(ap: ApConfigState, process: asyncssh.SSHServerProcess) -> None:
    terminal = _Terminal(ap)
    process.stdout.write(terminal.start())
    try:
        while not terminal.closed:
            data = await process.stdin.read(4096)
            if not data:
                break
            answer = terminal.feed(data)
            if answer:
                process.stdout.write(answer)
    except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged,
            asyncssh.DisconnectError, ConnectionError):
        pass
    finally:
        process.exit(0)


def new_host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


class ApServers:
    """The running servers of a fleet, by AP name; host keys can be replaced at run time."""

    def __init__(self) -> None:
        self.aps: dict[str, ApConfigState] = {}
        self.keys: dict[str, asyncssh.SSHKey] = {}
        self._acceptors: dict[str, asyncssh.SSHAcceptor] = {}

    async def add(self, ap: ApConfigState, port: int, key: asyncssh.SSHKey | None = None) -> None:
        key = key or new_host_key()
        acceptor = await asyncssh.create_server(
            lambda: _ApSshServer(ap), host=ap.address, port=port, server_host_keys=[key],
            process_factory=lambda process: _session(ap, process), encoding="utf-8",
            line_editor=False, keepalive_interval=0, login_timeout=30)
        self.aps[ap.name], self.keys[ap.name], self._acceptors[ap.name] = ap, key, acceptor

    def replace_host_key(self, name: str) -> asyncssh.SSHKey:
        """Give an AP a new host key (as after a factory reset or a swap of hardware)."""
        key = new_host_key()
        self._acceptors[name].update(server_host_keys=[key])
        self.keys[name] = key
        return key

    async def close(self) -> None:
        for acceptor in self._acceptors.values():
            acceptor.close()
        await asyncio.gather(*(a.wait_closed() for a in self._acceptors.values()))
        self._acceptors.clear()


#: Platforms whose CLI the simulator speaks over SSH ("generic" APs get no SSH server).
CLI_PLATFORMS = ("openwrt", "cisco_aironet")


def login_for(platform: str) -> str:
    """The simulated APs' SSH user: root on OpenWrt, a privilege-15 admin on IOS."""
    return "admin" if platform == "cisco_aironet" else "root"


async def attach_to_simulator(simulator, port: int) -> ApServers:
    """SSH servers for an `ApSimulator`'s APs, on its loop and addresses.

    The two sides stay one device: an AP the SNMP side marks unreachable refuses SSH too, and an
    AP a push knocks off the air (the after-apply fault) stops answering SNMP until it is back.
    """
    servers = ApServers()
    for plan in simulator.plans:
        if plan.platform not in CLI_PLATFORMS:
            continue
        state = _tied_to(simulator, simulator.aps[plan.name])
        await servers.add(state, port)
    return servers


def _tied_to(simulator, snmp_ap: SimulatedAp) -> ApConfigState:
    """The SSH side of one simulated AP, kept one device with its SNMP side."""
    plan = snmp_ap.plan
    state = ApConfigState(plan.name, plan.platform, plan.mgmt_ip,
                          username=login_for(plan.platform), path_up=lambda: snmp_ap.reachable)
    state.on_reachability(lambda ap, up: simulator.set_reachable(ap.name, up))
    # What a push puts on the air is what SNMP reports (dot11DesiredSSID).
    state.subscribe(lambda ap: setattr(snmp_ap, "ssids", tuple(ap.ssids())))
    snmp_ap.ssids = tuple(state.ssids())
    return state


async def start_servers(aps: Iterable[ApConfigState], port: int) -> ApServers:
    """Start one SSH server per AP on the running loop (the apsim process calls this)."""
    servers = ApServers()
    for ap in aps:
        await servers.add(ap, port)
    return servers


class SshSimulator:
    """The fleet's SSH servers on a private event loop thread, for tests and the benchmark."""

    def __init__(self, aps: Iterable[ApConfigState], port: int):
        self.port = port
        self._aps = list(aps)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apsim-ssh",
                                        daemon=True)
        self.servers: ApServers | None = None

    def __enter__(self) -> "SshSimulator":
        self._thread.start()
        self.servers = self._call(start_servers(self._aps, self.port))
        return self

    def __exit__(self, *exc) -> None:
        if self.servers is not None:
            self._call(self.servers.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    @property
    def _running(self) -> ApServers:
        """The servers; they exist inside the ``with`` block."""
        if self.servers is None:
            raise RuntimeError("the SSH simulator is not running (use it in a with block)")
        return self.servers

    def ap(self, name: str) -> ApConfigState:
        return self._running.aps[name]

    def host_key_fingerprint(self, name: str) -> str:
        return self._running.keys[name].get_fingerprint("sha256")

    def replace_host_key(self, name: str) -> None:
        servers = self._running

        async def replace():
            servers.replace_host_key(name)
        self._call(replace())


def fleet(count: int, first_address: str, platforms: tuple[str, ...] = ("openwrt",),
          prefix: str = "ap") -> list[ApConfigState]:
    """``count`` simulated APs on consecutive addresses, platforms taken in turn."""
    first = ipaddress.IPv4Address(first_address)
    aps = []
    for index in range(count):
        platform = platforms[index % len(platforms)]
        aps.append(ApConfigState(f"{prefix}-{index + 1:03d}", platform, str(first + index),
                                 username=login_for(platform)))
    return aps


def main() -> None:
    parser = argparse.ArgumentParser(description="SSH servers for a fleet of simulated APs")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--first-address", default="127.0.1.1")
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument("--platforms", default="openwrt",
                        help="comma-separated, taken in turn: openwrt,cisco_aironet")
    args = parser.parse_args()
    aps = fleet(args.count, args.first_address, tuple(args.platforms.split(",")))

    async def serve() -> None:
        await start_servers(aps, args.port)
        print(f"ready {len(aps)} {args.first_address} {args.port}", flush=True)
        await asyncio.Event().wait()

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve())


if __name__ == "__main__":
    main()
