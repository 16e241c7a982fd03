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
