"""UDP echo probes pinned to one backhaul link, and the echo responder at the far end.

Why UDP echo and not ICMP: it needs no CAP_NET_RAW, costs about the same (0.017 ms median
measured here), and the responder is the agent itself, so a probe answered means the agent's
own path works, not that some router on the way answers pings.

Why both SO_MARK and SO_BINDTODEVICE: binding to the device alone makes the kernel ARP for the
probe peer on-link, and binding the source address alone does not pin the egress. The mark steers
the probe into the link's own routing table (``ip rule fwmark``), whose route names the gateway;
the device binding guarantees that if that table is ever missing the probe fails instead of
leaking over the other link.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import threading
import time

from agents.backhaul.config import BackhaulLinkConfig

MAGIC = b"OBH1"
#: magic, sequence number, sender's CLOCK_MONOTONIC in ns.
PACKET = struct.Struct("!4sIQ")
#: SO_MARK is 36 on Linux; the socket module only exposes it on some builds.
SO_MARK = getattr(socket, "SO_MARK", 36)
#: IP_PKTINFO is 8 on Linux; Python only exposes it from 3.12 on some builds.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def encode(seq: int, sent_ns: int) -> bytes:
    return PACKET.pack(MAGIC, seq & 0xFFFFFFFF, sent_ns)


def decode(data: bytes) -> tuple[int, int] | None:
    """(seq, sent_ns) of a probe, or None for anything that is not one."""
    if len(data) < PACKET.size or not data.startswith(MAGIC):
        return None
    _, seq, sent_ns = PACKET.unpack_from(data)
    return seq, sent_ns


class LinkProber:
    """Sends numbered probes over one link and matches the echoes; unanswered ones expire."""

    def __init__(self, link: BackhaulLinkConfig, port: int, timeout_s: float) -> None:
        self.link = link
        self.peer = (link.probe_peer, port)
        self.timeout_s = timeout_s
        self.seq = 0
        #: seq -> monotonic send time of probes still waiting for their echo.
        self.outstanding: dict[int, float] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_MARK, link.fwmark)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, link.interface.encode())
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, now: float) -> bool:
        """Send the next probe; False when the kernel refused it (no route, no carrier)."""
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self.outstanding[self.seq] = now
        try:
            self.sock.sendto(encode(self.seq, time.monotonic_ns()), self.peer)
        except OSError as exc:
            if exc.errno not in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN,
                                 errno.ENOBUFS, errno.EPERM, errno.EAGAIN, errno.EINVAL):
                raise
            return False
        return True

    def receive(self, now: float) -> list[float]:
        """RTTs (ms) of the echoes waiting on the socket; late or foreign datagrams are dropped."""
        rtts: list[float] = []
        while True:
            try:
                data, sender = self.sock.recvfrom(64)
            except BlockingIOError:
                return rtts
            except OSError as exc:  # ICMP errors surface here (ECONNREFUSED, EHOSTUNREACH...)
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return rtts
                continue
            probe = decode(data)
            if probe is None or sender != self.peer:
                continue
            sent = self.outstanding.pop(probe[0], None)
            if sent is not None:
                rtts.append((now - sent) * 1000.0)

    def expire(self, now: float) -> int:
        """Forget probes older than the timeout and return how many were missed."""
        late = [seq for seq, sent in self.outstanding.items() if now - sent >= self.timeout_s]
        for seq in late:
            del self.outstanding[seq]
        return len(late)

    def close(self) -> None:
        self.sock.close()


#: struct in_pktinfo: ifindex, local address (spec_dst), header destination.
PKTINFO = struct.Struct("=I4s4s")


class EchoResponder:
    """Answers probes at headquarters (or any far end): each datagram goes back to its sender.

    The echo leaves from the address the probe was sent to (IP_PKTINFO), not from whatever
    address the route back would pick: the prober accepts echoes from its probe peer only.
    """

    def __init__(self, host: str = "0.0.0.0", port: int = 7007) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()
        self.answered = 0

    def serve(self, stop: threading.Event) -> None:
        """Echo until ``stop`` is set (checked at least every 200 ms)."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while not stop.is_set():
            if not poller.poll(200):
                continue
            try:
                data, ancillary, _, sender = self.sock.recvmsg(64, socket.CMSG_SPACE(PKTINFO.size))
            except OSError:
                continue
            if decode(data) is None:
                continue
            reply_from = [(level, kind, PKTINFO.pack(0, PKTINFO.unpack_from(raw)[2], bytes(4)))
                          for level, kind, raw in ancillary
                          if level == socket.IPPROTO_IP and kind == IP_PKTINFO]
            try:
                self.sock.sendmsg([data], reply_from, 0, sender)
                self.answered += 1
            except OSError:
                continue  # the path back is down: the prober counts the miss

    def close(self) -> None:
        self.sock.close()


__all__ = ["EchoResponder", "LinkProber", "decode", "encode"]
