"""The UDP sockets the fast paths share: one per address family, opened on first use.

Why shared: one socket for every AP (instead of a transport per AP, as pysnmp has it) keeps
the file descriptors, the event loop's readers and the per-request cost flat as the fleet grows.
The v2c path (``v2c.py``) and the v3 path (``v3.py``) each own one `SharedSockets`, so each
matches only its own answers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from controller.snmp.poll import SnmpError, SnmpTimeout

log = logging.getLogger(__name__)

Address = tuple[str, int]

#: Room for the answers of a few hundred requests in flight before the loop reads them; the
#: kernel caps it at net.core.rmem_max, which is fine (it only makes bursts drop sooner).
RECEIVE_BUFFER_BYTES = 4 << 20


class Endpoint(asyncio.DatagramProtocol):
    """One shared socket; hands every datagram to its owner's callback."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None], name: str):
        self.on_datagram = on_datagram
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc) -> None:  # ICMP errors: the request's own timer decides
        log.debug("%s socket: %s", self.name, exc)

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()


class SharedSockets:
    """``await sockets.get(family)``: that family's socket, opened once however many ask."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None], name: str):
        self.on_datagram = on_datagram
        self.name = name
        self._endpoints: dict[int, Endpoint] = {}
        self._opening = asyncio.Lock()

    async def get(self, family: int) -> Endpoint:
        endpoint = self._endpoints.get(family)
        if endpoint is not None and endpoint.open:
            return endpoint
        async with self._opening:
            endpoint = self._endpoints.get(family)
            if endpoint is None or not endpoint.open:
                loop = asyncio.get_running_loop()
                local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
                transport, endpoint = await loop.create_datagram_endpoint(
                    lambda: Endpoint(self.on_datagram, self.name), local_addr=local,
                    family=family)
                _widen_receive_buffer(transport.get_extra_info("socket"), self.name)
                self._endpoints[family] = endpoint
            return endpoint

    def close(self) -> None:
        for endpoint in self._endpoints.values():
            if endpoint.transport is not None:
                endpoint.transport.close()
        self._endpoints.clear()


def _widen_receive_buffer(sock, name: str) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    except OSError as exc:
        log.debug("cannot widen the %s receive buffer: %s", name, exc)


__all__ = ["RECEIVE_BUFFER_BYTES", "Address", "Endpoint", "SharedSockets"]


class PendingRequest(Protocol):
    """What a fast path keeps of one request in flight."""

    future: asyncio.Future
    address: Address
    message: bytes
    retries_left: int
    timer: asyncio.TimerHandle | None


class RequestCounts(Protocol):
    sent: int
    retried: int
    timed_out: int


Counts = TypeVar("Counts", bound=RequestCounts)


class Retransmitter(Generic[Counts]):
    """Sends a request, resends it on each timeout while retries are left, then fails it with
    `SnmpTimeout`: the part of the v2c and v3 fast paths that does not depend on the version.

    The owner keeps ``_pending`` (request id -> `PendingRequest`) and ``stats``; a request
    answered or cancelled meanwhile is no longer ``_pending[id]`` and is left alone.
    """

    timeout: float
    retries: int
    stats: Counts
    _pending: dict

    def __init__(self, version: str):
        self._version = version

    def _send(self, endpoint: Endpoint, request_id: int, pending: PendingRequest) -> None:
        if endpoint.transport is None or endpoint.transport.is_closing():
            pending.future.set_exception(SnmpError(f"the {self._version} socket is closed"))
            return
        endpoint.transport.sendto(pending.message, pending.address)
        self.stats.sent += 1
        pending.timer = asyncio.get_running_loop().call_later(
            self.timeout, self._expire, endpoint, request_id, pending)

    def _expire(self, endpoint: Endpoint, request_id: int, pending: PendingRequest) -> None:
        if pending.future.done() or self._pending.get(request_id) is not pending:
            return
        if pending.retries_left > 0:
            pending.retries_left -= 1
            self.stats.retried += 1
            self._send(endpoint, request_id, pending)
            return
        self.stats.timed_out += 1
        total = self.timeout * (self.retries + 1)
        pending.future.set_exception(SnmpTimeout(
            f"no response from {pending.address[0]}:{pending.address[1]} within {total:g}s"))

