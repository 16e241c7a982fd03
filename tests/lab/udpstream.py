"""A numbered UDP stream to measure outages: ``send`` at N packets/s, ``receive`` the gaps.

Each datagram carries a sequence number and the sender's CLOCK_MONOTONIC (one clock for all
namespaces of a machine). The receiver keeps arrival times; the outage of a fault is the largest
gap in sequence numbers (at 1,000 packets/s one lost packet is one millisecond), and the time
gap around it is reported too. Run as ``python -m tests.lab.udpstream send|receive ...``.
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import socket
import struct
import sys
import time

PACKET = struct.Struct("!IQ")


def send(target: tuple[str, int], rate: int, seconds: float) -> int:
    """Send ``rate`` packets/s for ``seconds`` on a fixed schedule; returns packets sent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    period = 1.0 / rate
    start = time.monotonic()
    seq = 0
    total = int(rate * seconds)
    while seq < total:
        due = start + seq * period
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            sock.sendto(PACKET.pack(seq, time.monotonic_ns()), target)
        except OSError:
            pass  # no route for a moment: that packet is part of the outage
        seq += 1
    return seq


def receive(listen: tuple[str, int], idle_s: float, max_s: float) -> dict:
    """Collect until ``idle_s`` without packets after the first, or ``max_s``; return stats."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(listen)
    print("ready", flush=True)
    seqs: list[int] = []
    arrivals: list[float] = []
    sent: list[int] = []
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    deadline = time.monotonic() + max_s
    last = None
    while not stop["now"] and time.monotonic() < deadline:
        if last is not None and time.monotonic() - last > idle_s:
            break
        # Short waits so SIGTERM and the idle limit are noticed during an outage too.
        if not select.select([sock], [], [], 0.1)[0]:
            continue
        data = sock.recv(64)
        if len(data) >= PACKET.size:
            seq, sent_ns = PACKET.unpack_from(data)
            seqs.append(seq)
            sent.append(sent_ns)
            last = time.monotonic()
            arrivals.append(last)
    return outage_stats(seqs, arrivals, sent)


def outage_stats(seqs: list[int], arrivals: list[float], sent: list[int] | None = None) -> dict:
    """Largest sequence gap (packets missing in a row), the time gap there, total lost, and
    every gap as ``[missing, sent_ns of the last packet before it]`` so a caller can tell
    which fault a gap belongs to (CLOCK_MONOTONIC is the same in every namespace)."""
    if not seqs:
        return {"received": 0, "lost": None, "max_gap_packets": None, "max_gap_ms": None,
                "gaps": []}
    order = sorted(range(len(seqs)), key=seqs.__getitem__)
    worst_packets, worst_ms = 0, 0.0
    gaps = []
    for before, after in zip(order, order[1:]):
        missing = seqs[after] - seqs[before] - 1
        if missing > 0 and sent is not None:
            gaps.append([missing, sent[before]])
        if missing > worst_packets:
            worst_packets = missing
            worst_ms = (arrivals[after] - arrivals[before]) * 1000.0
    distinct = len(set(seqs))
    return {"received": distinct, "first": seqs[order[0]], "last": seqs[order[-1]],
            "lost": seqs[order[-1]] - seqs[order[0]] + 1 - distinct,
            "max_gap_packets": worst_packets, "max_gap_ms": round(worst_ms, 2), "gaps": gaps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="udpstream")
    sub = parser.add_subparsers(dest="mode", required=True)
    tx = sub.add_parser("send")
    tx.add_argument("host")
    tx.add_argument("port", type=int)
    tx.add_argument("--rate", type=int, default=1000)
    tx.add_argument("--seconds", type=float, default=5.0)
    rx = sub.add_parser("receive")
    rx.add_argument("--listen", default="0.0.0.0")
    rx.add_argument("port", type=int)
    rx.add_argument("--idle", type=float, default=1.0)
    rx.add_argument("--max", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.mode == "send":
        print(json.dumps({"sent": send((args.host, args.port), args.rate, args.seconds)}))
    else:
        print(json.dumps(receive((args.listen, args.port), args.idle, args.max)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
