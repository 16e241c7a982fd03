"""Throughput of the simulator under the controller's poll: one GETBULK per AP, round robin.

    .venv/bin/python -m agents.apsim.bench --count 2000 --seconds 10            # v2c
    .venv/bin/python -m agents.apsim.bench --count 2000 --seconds 10 --v3       # v3 authPriv

The simulator runs in its own process (``oasis apsim run``); this process is the manager. It
prints responses per wall-clock second and per CPU-second of the simulator process (read from
its control endpoint), the figure that says what one core can serve. The v2c load is generated
from pre-encoded requests (only the request-id changes) so the manager is not the bottleneck;
the v3 load (SHA/AES authPriv, the simulator's default user) first discovers every AP's engine,
then sends the same GETBULKs through core's USM (``core/snmp_v3.py``), each encrypted and
signed for its AP.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

from agents.apsim.control import send_command
from agents.apsim.inventory import plan_aps
from agents.apsim.mib import oid
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import UsmUser

SYSTEM_PREFIXES = ("1.3.6.1.2.1.1.1", "1.3.6.1.2.1.1.3", "1.3.6.1.2.1.1.5")
OPENWRT_CLIENTS_NEXT = "1.3.6.1.4.1.8072.1.3.2.3.1.1.7.99.108.105.101.110.116.114.4294967295"
COLUMNS = ("1.3.6.1.2.1.2.2.1.3", "1.3.6.1.2.1.2.2.1.14", "1.3.6.1.2.1.2.2.1.20",
           "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.7", "1.3.6.1.2.1.31.1.1.1.10",
           "1.3.6.1.2.1.31.1.1.1.11")
CISCO_CLIENTS = "1.3.6.1.4.1.9.9.273.1.1.2.1.1"
MAX_REPETITIONS = 5


def poll_shape(platform: str) -> tuple[list[str], list[str]]:
    """(non-repeaters, repeaters) of the controller's one GETBULK for a platform."""
    non_repeaters = list(SYSTEM_PREFIXES)
    if platform == "openwrt":
        non_repeaters.append(OPENWRT_CLIENTS_NEXT)
    repeaters = list(COLUMNS) + ([CISCO_CLIENTS] if platform == "cisco_aironet" else [])
    return non_repeaters, repeaters


def getbulk_message(community: bytes, platform: str) -> bytes:
    """A v2c GETBULK with a 4-byte request-id placeholder right after the PDU header."""
    non_repeaters, repeaters = poll_shape(platform)
    varbinds = [ber.tlv(ber.SEQUENCE, ber.encode_oid(oid(o)) + b"\x05\x00")
                for o in non_repeaters + repeaters]
    pdu_body = (b"\x02\x04\x00\x00\x00\x00"
                + ber.tlv(ber.INTEGER, ber.encode_signed(len(non_repeaters)))
                + ber.tlv(ber.INTEGER, ber.encode_signed(MAX_REPETITIONS))
                + ber.tlv(ber.SEQUENCE, b"".join(varbinds)))
    return ber.tlv(ber.SEQUENCE, b"\x02\x01\x01" + ber.tlv(ber.OCTET_STRING, community)
                   + ber.tlv(ber.GETBULK, pdu_body))


def load_v2c(targets: list[tuple[str, str]], port: int, seconds: float, window: int
             ) -> tuple[int, int]:
    """Keep ``window`` requests in flight for ``seconds``; returns (answered, lost)."""
    templates = {p: bytearray(getbulk_message(b"public", p)) for p in {p for _, p in targets}}
    offsets = {p: bytes(t).index(b"\x02\x04\x00\x00\x00\x00") + 2 for p, t in templates.items()}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.settimeout(1.0)
    answered = lost = in_flight = request_id = 0
    deadline = time.monotonic() + seconds
    position = 0
    while time.monotonic() < deadline:
        while in_flight < window:
            address, platform = targets[position % len(targets)]
            position += 1
            request_id = (request_id + 1) & 0x7FFFFFFF
            message = templates[platform]
            message[offsets[platform]:offsets[platform] + 4] = request_id.to_bytes(4, "big")
            sock.sendto(message, (address, port))
            in_flight += 1
        try:
            sock.recv(65535)
            answered += 1
            in_flight -= 1
        except socket.timeout:
            lost += in_flight
            in_flight = 0
    sock.close()
    return answered, lost


Engines = dict[str, tuple[bytes, int, int, float]]


def discover_engines(targets: list[tuple[str, str]], port: int) -> Engines:
    """Each AP's engine ID, boots, time (and when heard), as a manager learns them once."""
    engines: Engines = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0)
        for position, (address, _) in enumerate(targets):
            sock.sendto(v3.discovery_request(position + 1, position + 1), (address, port))
            report = v3.decode_message(sock.recv(65535))
            engines[address] = (report.engine_id, report.boots, report.engine_time,
                                time.monotonic())
    return engines


def load_v3(targets: list[tuple[str, str]], port: int, seconds: float, window: int,
            user: UsmUser, engines: Engines) -> tuple[int, int]:
    """The same polls over SNMPv3 at ``user``'s level, to engines already discovered;
    (answered, lost)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    pdus = {p: ber.encode_getbulk_pdu(len(nr), MAX_REPETITIONS, [oid(o) for o in nr + rep])
            for p in {p for _, p in targets} for nr, rep in [poll_shape(p)]}
    sock.settimeout(1.0)
    answered = lost = in_flight = 0
    msg_id = ber.REQUEST_ID_MIN
    deadline = time.monotonic() + seconds
    position = 0
    while time.monotonic() < deadline:
        while in_flight < window:
            address, platform = targets[position % len(targets)]
            position += 1
            msg_id = msg_id + 1 if msg_id < ber.REQUEST_ID_MAX else ber.REQUEST_ID_MIN
            engine, boots, engine_time, at = engines[address]
            sock.sendto(v3.encode_request(msg_id, user, engine, boots,
                                          engine_time + int(time.monotonic() - at), b"",
                                          pdus[platform].message(msg_id)), (address, port))
            in_flight += 1
        try:
            sock.recv(65535)
            answered += 1
            in_flight -= 1
        except socket.timeout:
            lost += in_flight
            in_flight = 0
    sock.close()
    return answered, lost


def _server_cpu(control: tuple[str, int]) -> float:
    return send_command("stats", control)["stats"]["cpu_seconds"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--first-address", default="127.77.0.1")
    parser.add_argument("--port", type=int, default=16161)
    parser.add_argument("--control-port", type=int, default=16163)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--v3", action="store_true")
    args = parser.parse_args(argv)

    control = ("127.0.0.1", args.control_port)
    server = subprocess.Popen(
        [sys.executable, "-c", "from agents.apsim.cli import apsim; apsim()", "run",
         "--count", str(args.count), "--first-address", args.first_address,
         "--port", str(args.port), "--no-traps", "--control", f"{control[0]}:{control[1]}"],
        stdout=subprocess.PIPE, text=True)
    try:
        # The first line comes once every socket and the control endpoint are listening.
        # typeshed types Popen.stdout as Optional whatever stdout= says; it is a PIPE here.
        ready = server.stdout.readline().strip()  # type: ignore[union-attr]
        if not ready:
            raise SystemExit("the simulator exited before serving")
        print(ready)
        targets = [(p.mgmt_ip, p.platform) for p in plan_aps(args.count, args.first_address)]
        engines = discover_engines(targets, args.port) if args.v3 else {}
        cpu_before = _server_cpu(control)      # after the discovery: what a steady poll costs
        started = time.monotonic()
        if args.v3:
            user = UsmUser.from_passphrases("oasis", "SHA", "oasis-auth-key", "AES",
                                            "oasis-priv-key")
            answered, lost = load_v3(targets, args.port, args.seconds, args.window, user,
                                     engines)
        else:
            answered, lost = load_v2c(targets, args.port, args.seconds, args.window)
        wall = time.monotonic() - started
        cpu = _server_cpu(control) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=10)
    kind = "v3 authPriv" if args.v3 else "v2c"
    print(f"{kind} GETBULK polls: {answered} answered, {lost} lost in {wall:.1f} s over "
          f"{args.count} APs")
    print(f"  {answered / wall:,.0f} responses/s wall clock; simulator CPU {cpu:.2f} s "
          f"-> {answered / cpu if cpu else float('inf'):,.0f} responses per CPU-second")


if __name__ == "__main__":
    main()
