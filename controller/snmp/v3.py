"""The SNMPv3 fast path: USM from ``core`` over one UDP socket per address family.

Why: through pysnmp a v3 poll cost ~5.6 ms of CPU, so a park on authPriv could not be polled
as often as one on v2c. Here a v3 poll costs what a v2c poll costs plus one HMAC and one cipher
call each way (``core/snmp_usm.py``, ``core/snmp_v3.py``), and the request layout and the
reading of the answer are the v2c path's (``poll.py``).

Per agent (address and port) the transport keeps what USM needs to know about it, a
`RemoteEngine`: discovered once (a report to an empty probe), its boots and time kept running
locally. Requests carry the user's keys localised to that engine (``UsmUser.keys_for``, cached).
What agents report back:

- ``notInTimeWindow`` (signed by the agent): our boots/time were stale, typically because the
  AP rebooted; its values are taken and the request is sent again, once;
- ``unknownEngineID``: the AP's engine ID changed (replaced, or no persistent storage); it is
  discovered again and the request sent again, once;
- anything else (unknown user, wrong digest, decryption error, unsupported level, unknown
  context): `SnmpAuthError` naming it, which the poller shows as ``auth_failed``.

Some agents stay silent instead of reporting: net-snmp drops a request it cannot decrypt
(wrong privacy key or protocol) or whose context it does not know. When an agent that has just
answered the discovery then ignores the request, two empty probes ask what it does answer: the
same user without a context (answered: ``unknown_context``), then at authNoPriv (answered:
``decryption_error``). An agent that answers neither is a timeout, as before. After a timeout
the engine is forgotten, so the next poll discovers it again: that is what tells a silent agent
from a dead one, and what notices an AP replaced while it was unreachable.

Matching: msgID and request-id are the same number; an answer is accepted only if it decodes,
carries a pending msgID, comes from the address the request went to, is signed with the right
key for the right engine (at the request's security level; reports may be unsigned), is within
the time window and decrypts. Anything else is counted in `V3Stats` and dropped, so a forged or
replayed datagram cannot fail a poll; the request waits for the real answer or times out.
Retries resend the same message every ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.snmp.poll import (
    SnmpAgentError,
    SnmpAuthError,
    SnmpError,
    SnmpTimeout,
    SnmpTooBig,
    Varbind,
)
from controller.snmp.udp import Address, Endpoint, Retransmitter, SharedSockets
from core import snmp_ber as ber
from core import snmp_v3 as v3
from core.snmp_usm import REASON_TEXT, LocalizedKeys, RemoteEngine, UsmError, UsmUser

log = logging.getLogger(__name__)

#: A request is sent again at most this often after a resync or a rediscovery.
MAX_RESENDS = 2


@dataclass
class V3Stats:
    """What the shared v3 socket saw; dropped datagrams are counted here, never raised."""

    sent: int = 0
    retried: int = 0
    answered: int = 0
    timed_out: int = 0
    discoveries: int = 0
    #: notInTimeWindow reports followed (an AP rebooted, or our clock guess was off).
    resyncs: int = 0
    #: unknownEngineID reports followed by a new discovery.
    rediscoveries: int = 0
    #: Reports that failed a poll (unknown user, wrong digest, ...).
    refused: int = 0
    malformed: int = 0
    unknown_msg_id: int = 0
    wrong_source: int = 0
    #: Signed with another key or for another engine: possibly forged.
    wrong_digest: int = 0
    #: Signed correctly but older than the time window: a replay.
    not_in_time_window: int = 0
    #: Did not decrypt to a scoped PDU.
    undecryptable: int = 0
    #: Right source and msgID but not an answer to that request (level, PDU, request-id).
    mismatched: int = 0


@dataclass(slots=True)
class _Reply:
    pdu_type: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]
    #: For reports: what it says went wrong.
    reason: str = ""


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future
    address: Address
    message: bytes
    retries_left: int
    level: int
    keys: LocalizedKeys | None
    engine: RemoteEngine | None
    timer: asyncio.TimerHandle | None = None


class V3Transport(Retransmitter[V3Stats]):
    """Sends SNMPv3 GETBULKs and reads their answers; `close()` fails what is pending."""

    def __init__(self, *, timeout: float, retries: int, clock: Callable[[], float] = time.monotonic):
        super().__init__("v3")
        self.timeout = timeout
        self.retries = retries
        self.clock = clock
        self.stats = V3Stats()
        self._sockets = SharedSockets(self.datagram_received, "v3")
        self._pending: dict[int, _Pending] = {}
        self._engines: dict[Address, RemoteEngine] = {}
        self._discovering: dict[Address, asyncio.Future] = {}
        self._users: dict[tuple, UsmUser] = {}
        self._oid_cache: dict[bytes, tuple[int, ...]] = {}
        # A msgID nobody can guess from outside: a report is accepted unsigned, so its msgID is
        # all that ties it to our request.
        span = ber.REQUEST_ID_MAX - ber.REQUEST_ID_MIN
        self._next_id = ber.REQUEST_ID_MIN + int.from_bytes(os.urandom(4), "big") % span

    def user(self, name: str, auth_proto: str | None, auth_key: str | None,
             priv_proto: str | None, priv_key: str | None) -> UsmUser:
        """The `UsmUser` for these credentials, its master keys derived once per process."""
        key = (name, auth_proto, auth_key, priv_proto, priv_key)
        user = self._users.get(key)
        if user is None:
            user = UsmUser.from_passphrases(name, auth_proto, auth_key, priv_proto, priv_key)
            self._users[key] = user
        return user

    def engine_id(self, address: Address) -> bytes | None:
        """The engine ID discovered at ``address``, if any (the trap receiver's check)."""
        engine = self._engines.get(address)
        return engine.engine_id if engine is not None else None

    def forget(self, address: Address) -> None:
        self._engines.pop(address, None)

    def _msg_id(self) -> int:
        while True:
            msg_id = self._next_id
            self._next_id = msg_id + 1 if msg_id < ber.REQUEST_ID_MAX else ber.REQUEST_ID_MIN
            if msg_id not in self._pending:
                return msg_id

    async def getbulk(self, address: Address, family: int, user: UsmUser, context: bytes,
                      pdu: ber.GetBulkTemplate, expected_engine: bytes | None = None
                      ) -> list[Varbind]:
        """Send the GETBULK ``pdu`` (its request-id slot filled here) and return the answer's
        varbinds. ``expected_engine``: the engine ID configured for the AP; a different one
        discovered at its address is refused rather than trusted.

        Raises SnmpTimeout, SnmpAuthError (a report), SnmpTooBig or SnmpError.
        """
        endpoint = await self._sockets.get(family)
        discoveries = self.stats.discoveries
        engine = await self._engine(endpoint, address, expected_engine)
        for attempt in range(MAX_RESENDS + 1):
            msg_id = self._msg_id()
            message = self._request(msg_id, user, engine, context, pdu.message(msg_id))
            try:
                reply = await self._exchange(endpoint, address, msg_id, message, user.level,
                                             user.keys_for(engine.engine_id) if user.level
                                             else None, engine)
            except SnmpTimeout:
                self._engines.pop(address, None)
                if self.stats.discoveries != discoveries:   # it answered moments ago
                    reason = await self._diagnose(endpoint, address, user, engine, context)
                    if reason is not None:
                        self.stats.refused += 1
                        raise _refusal(reason, user, silent=True) from None
                raise
            if reply.pdu_type == ber.RESPONSE:
                return _varbinds(reply)
            if reply.reason == "not_in_time_window" and attempt < MAX_RESENDS:
                self.stats.resyncs += 1
                continue        # the report was signed and set the engine's boots and time
            if reply.reason == "unknown_engine_id" and attempt < MAX_RESENDS:
                self.stats.rediscoveries += 1
                self._engines.pop(address, None)
                engine = await self._engine(endpoint, address, expected_engine)
                continue
            self.stats.refused += 1
            raise _refusal(reply.reason, user)
        raise SnmpAuthError("the AP kept refusing our engine boots/time")

    def _request(self, msg_id: int, user: UsmUser, engine: RemoteEngine, context: bytes,
                 pdu: bytes) -> bytes:
        boots, engine_time = engine.now(self.clock())
        return v3.encode_request(msg_id, user, engine.engine_id, boots, engine_time, context,
                                 pdu)

    async def _diagnose(self, endpoint: Endpoint, address: Address, user: UsmUser,
                        engine: RemoteEngine, context: bytes) -> str | None:
        """Why an agent that answered the discovery ignores the user's requests, if it says."""
        if context and await self._probe(endpoint, address, user, engine):
            return "unknown_context"
        if user.priv is not None and user.auth is not None:
            signed_only = UsmUser(user.name, user.auth, None, user.auth_ku)
            if await self._probe(endpoint, address, signed_only, engine):
                return "decryption_error"
        return None

    async def _probe(self, endpoint: Endpoint, address: Address, user: UsmUser,
                     engine: RemoteEngine) -> bool:
        """Does the agent answer an empty GET from ``user`` in the default context? Only a
        response counts (net-snmp answers authNoPriv from an authPriv user with a signed
        authorizationError); a report does not: pysnmp reports unsupportedSecLevel for it
        whatever else is wrong."""
        msg_id = self._msg_id()
        pdu = ber.encode_pdu(ber.GET, ber.tlv(ber.INTEGER, ber.encode_signed(msg_id)), 0, 0, [])
        keys = user.keys_for(engine.engine_id) if user.level else None
        try:
            reply = await self._exchange(endpoint, address, msg_id,
                                         self._request(msg_id, user, engine, b"", pdu),
                                         user.level, keys, engine, retries=0)
        except SnmpTimeout:
            return False
        return reply.pdu_type == ber.RESPONSE

    async def _engine(self, endpoint: Endpoint, address: Address,
                      expected: bytes | None) -> RemoteEngine:
        """The agent's engine, discovered once (concurrent polls of one AP share the probe)."""
        engine = self._engines.get(address)
        if engine is not None:
            return engine
        waiting = self._discovering.get(address)
        if waiting is None:
            waiting = asyncio.ensure_future(self._discover(endpoint, address, expected))
            self._discovering[address] = waiting
            waiting.add_done_callback(lambda _: self._discovering.pop(address, None))
        return await asyncio.shield(waiting)

    async def _discover(self, endpoint: Endpoint, address: Address,
                        expected: bytes | None) -> RemoteEngine:
        msg_id = self._msg_id()
        self.stats.discoveries += 1
        reply = await self._exchange(endpoint, address, msg_id,
                                     v3.discovery_request(msg_id, msg_id), 0, None, None)
        if reply.pdu_type != ber.REPORT or not isinstance(reply.varbinds, list):
            raise SnmpError("the agent answered the engine discovery with no report")
        engine = self._engines.get(address)
        if engine is None:
            raise SnmpError(f"engine discovery: {reply.reason or 'no engine ID'}")
        if expected is not None and engine.engine_id != expected:
            self._engines.pop(address, None)
            raise SnmpAuthError(f"engine_id: the AP's engine ID {engine.engine_id.hex()} is not "
                                f"the configured {expected.hex()}")
        return engine

    async def _exchange(self, endpoint: Endpoint, address: Address, msg_id: int, message: bytes,
                        level: int, keys: LocalizedKeys | None, engine: RemoteEngine | None,
                        retries: int | None = None) -> _Reply:
        pending = _Pending(asyncio.get_running_loop().create_future(), address, message,
                           self.retries if retries is None else retries, level, keys, engine)
        self._pending[msg_id] = pending
        try:
            self._send(endpoint, msg_id, pending)
            return await pending.future
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            if self._pending.get(msg_id) is pending:
                del self._pending[msg_id]

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            message = v3.decode_message(data)
        except ber.BerError as exc:
            self.stats.malformed += 1
            log.debug("dropped malformed datagram from %s: %s", addr, exc)
            return
        pending = self._pending.get(message.msg_id)
        if pending is None or pending.future.done():
            self.stats.unknown_msg_id += 1
            return
        if (addr[0], addr[1]) != pending.address:
            self.stats.wrong_source += 1
            return
        try:
            reply = self._read(data, message, pending)
        except UsmError as exc:
            self.stats.undecryptable += 1
            log.debug("dropped v3 datagram from %s: %s", addr, exc)
            return
        except ber.BerError as exc:
            self.stats.malformed += 1
            log.debug("dropped malformed scoped PDU from %s: %s", addr, exc)
            return
        if reply is not None:
            self.stats.answered += 1
            pending.future.set_result(reply)

    def _read(self, data: bytes, message: v3.Message, pending: _Pending) -> _Reply | None:
        """The answer to ``pending`` in ``message``, or None (counted) if it is not one."""
        keys, engine = pending.keys, pending.engine
        if message.flags & v3.FLAG_AUTH:
            if keys is None or engine is None or message.engine_id != engine.engine_id:
                self.stats.mismatched += 1
                return None
            if not v3.authentic(data, message, keys):
                self.stats.wrong_digest += 1
                return None
            scoped = v3.open_scoped_pdu(message, keys)
            pdu_type, request_id, status, index, varbinds = scoped.pdu(self._oid_cache)
            now = self.clock()
            # RFC 3414 3.2 step 7b, signed reports included: newer boots/time are taken (an
            # AP that rebooted says so in a signed notInTimeWindow report), older ones are a
            # replay and dropped.
            if not engine.heard(message.boots, message.engine_time, now):
                self.stats.not_in_time_window += 1
                return None
            if pdu_type == ber.REPORT:
                return _Reply(pdu_type, status, index, varbinds, v3.report_reason(varbinds))
        else:
            scoped = v3.decode_scoped_pdu(message.data)
            pdu_type, request_id, status, index, varbinds = scoped.pdu(self._oid_cache)
            if pdu_type == ber.REPORT:
                return self._unsigned_report(message, pending, varbinds)
        if (pdu_type != ber.RESPONSE or message.level != pending.level
                or request_id != message.msg_id):
            self.stats.mismatched += 1
            return None
        return _Reply(pdu_type, status, index, varbinds)

    def _unsigned_report(self, message: v3.Message, pending: _Pending,
                         varbinds: list[Varbind]) -> _Reply:
        reason = v3.report_reason(varbinds)
        if pending.engine is None and 5 <= len(message.engine_id) <= 32:
            # The discovery's answer: the engine ID, and boots/time as a first guess only.
            engine = RemoteEngine(message.engine_id)
            engine.guess(message.boots, message.engine_time, self.clock())
            self._engines[pending.address] = engine
        return _Reply(ber.REPORT, 0, 0, varbinds, reason)

    def close(self) -> None:
        for pending in list(self._pending.values()):
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(SnmpError("the SNMP client was closed"))
        self._pending.clear()
        for waiting in list(self._discovering.values()):
            waiting.cancel()
        self._sockets.close()


def _refusal(reason: str, user: UsmUser, silent: bool = False) -> SnmpAuthError:
    how = " (the AP stays silent rather than report it)" if silent else ""
    return SnmpAuthError(f"{reason}: {REASON_TEXT.get(reason, 'the AP sent a report')}{how}"
                         f" (user {user.name.decode('utf-8', 'replace')!r})")


def _varbinds(reply: _Reply) -> list[Varbind]:
    if reply.error_status == ber.TOO_BIG:
        raise SnmpTooBig(f"agent tooBig for {len(reply.varbinds)} varbinds")
    if reply.error_status:
        raise SnmpAgentError(ber.error_status_name(reply.error_status), reply.error_index)
    return reply.varbinds


__all__ = ["V3Stats", "V3Transport"]
