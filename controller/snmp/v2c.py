"""The v2c fast path: one asyncio UDP socket per address family shared by every v2c AP.

Why: through pysnmp, ~70 % of the poller's CPU went into pyasn1 decoding responses, and the
engine looks each incoming v2c message's community up in a map whose cost grows with the number
of targets; 2,000 APs needed 9-9.5 s per cycle. SNMPv2c has no security processing, so requests
are encoded once per AP (`snmp_ber.GetBulkTemplate`) and responses read by the small codec in
``snmp_ber.py``. SNMPv3 has its own fast path beside this one (``v3.py``, USM from
``core/snmp_usm.py``).

Matching: every request gets a fresh request-id; a datagram is accepted only if it decodes, is a
Response PDU, carries a pending request-id, comes from the address and port that request went
to, and echoes its community. Anything else is counted and dropped, never raised into the event
loop. Retries resend the same message (same request-id, so a late answer to the first try still
counts) every ``timeout`` seconds; after ``retries`` resends the request fails with SnmpTimeout.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from controller.snmp.poll import SnmpAgentError, SnmpError, SnmpTooBig, Varbind
from controller.snmp.udp import Address, Retransmitter, SharedSockets
from core import snmp_ber as ber

log = logging.getLogger(__name__)


@dataclass
class V2cStats:
    """What the shared socket saw; dropped datagrams are counted here, never raised."""

    sent: int = 0
    retried: int = 0
    answered: int = 0
    timed_out: int = 0
    malformed: int = 0
    unknown_request_id: int = 0
    wrong_source: int = 0
    #: Right source and request-id, but not a v2c Response with the request's community.
    mismatched: int = 0


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future
    address: Address
    community: bytes
    message: bytes
    retries_left: int
    timer: asyncio.TimerHandle | None = None


class V2cTransport(Retransmitter[V2cStats]):
    """Sends v2c GETBULKs and matches their responses; `close()` fails what is pending."""

    def __init__(self, *, timeout: float, retries: int):
        super().__init__("v2c")
        self.timeout = timeout
        self.retries = retries
        self.stats = V2cStats()
        self._sockets = SharedSockets(self.datagram_received, "v2c")
        self._pending: dict[int, _Pending] = {}
        self._oid_cache: dict[bytes, tuple[int, ...]] = {}
        self._next_id = ber.REQUEST_ID_MIN

    def _request_id(self) -> int:
        """The next free request-id, cycling through the four-octet slot."""
        while True:
            request_id = self._next_id
            self._next_id = (request_id + 1 if request_id < ber.REQUEST_ID_MAX
                             else ber.REQUEST_ID_MIN)
            if request_id not in self._pending:
                return request_id

    async def getbulk(self, address: Address, family: int, community: bytes,
                      template: ber.GetBulkTemplate) -> list[Varbind]:
        """Send ``template`` to ``address`` and return the response's varbinds.

        Raises SnmpTimeout when no matching response arrives, SnmpTooBig or SnmpError for an
        agent error-status.
        """
        endpoint = await self._sockets.get(family)
        loop = asyncio.get_running_loop()
        request_id = self._request_id()
        pending = _Pending(loop.create_future(), address, community,
                           template.message(request_id), self.retries)
        self._pending[request_id] = pending
        try:
            self._send(endpoint, request_id, pending)
            response = await pending.future
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            if self._pending.get(request_id) is pending:
                del self._pending[request_id]
        if response.error_status == ber.TOO_BIG:
            raise SnmpTooBig(f"agent tooBig for {len(response.varbinds)} varbinds")
        if response.error_status:
            raise SnmpAgentError(ber.error_status_name(response.error_status),
                                 response.error_index)
        return response.varbinds

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            response = ber.decode_response(data, self._oid_cache)
        except ber.BerError as exc:
            self.stats.malformed += 1
            log.debug("dropped malformed datagram from %s: %s", addr, exc)
            return
        pending = self._pending.get(response.request_id)
        if pending is None or pending.future.done():
            self.stats.unknown_request_id += 1
            return
        if (addr[0], addr[1]) != pending.address:
            self.stats.wrong_source += 1
            log.debug("dropped response from %s for a request to %s", addr, pending.address)
            return
        if (response.pdu_type != ber.RESPONSE or response.version != ber.SNMP_V2C
                or response.community != pending.community):
            self.stats.mismatched += 1
            return
        self.stats.answered += 1
        pending.future.set_result(response)

    def close(self) -> None:
        for pending in list(self._pending.values()):
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(SnmpError("the SNMP client was closed"))
        self._pending.clear()
        self._sockets.close()


__all__ = ["Address", "V2cStats", "V2cTransport"]
