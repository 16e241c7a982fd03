"""SNMPv3 (USM authPriv) for the simulated APs: the simulator's only pysnmp adapter.

USM (key localisation, HMAC, AES, engine discovery, time windows, reports) is not something to
write by hand, so v3 datagrams go through one pysnmp ``SnmpEngine`` shared by all APs. The engine
never touches a socket: the simulator hands it each datagram together with the local address it
arrived on, and the engine's replies (responses and USM reports) come back through ``send``. The
PDU itself is answered from the same MIB tables as v2c, picked by that local address.

All APs share one snmpEngineID (like one snmpsim process does); managers key their USM state by
engine ID and cope. pysnmp's MIB instrumentation is bypassed on purpose: it is several times
slower and would need one context per AP. Response varbinds are encoded by ``ber`` and
handed to pysnmp pre-encoded (see ``_set_encoded_varbinds``), which halves the v3 cost.
"""

from __future__ import annotations

import logging
from typing import Callable

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.carrier.base import AbstractTransport, AbstractTransportDispatcher
from pysnmp.entity import config as engine_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import error as proto_error
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c

from agents.apsim.mib import Answer, Oid
from core import snmp_ber as ber

log = logging.getLogger(__name__)

#: (AP address, PDU type, requested varbinds, non-repeaters, max-repetitions) -> the answer,
#: or None when no AP has that address.
Resolver = Callable[[str, int, tuple[tuple[Oid, bytes], ...], int, int], list[Answer] | None]
#: (local address, datagram, peer address): put a reply on the wire from that AP.
Sender = Callable[[str, bytes, tuple[str, int]], None]

_PDU_KINDS = {
    rfc1905.GetRequestPDU.tagSet: ber.GET,
    rfc1905.GetNextRequestPDU.tagSet: ber.GETNEXT,
    rfc1905.GetBulkRequestPDU.tagSet: ber.GETBULK,
}
AUTH_PRIV = 3  # securityLevel


class _HandOffTransport(AbstractTransport):
    """A transport with no socket: the simulator's sockets receive, ``send`` transmits."""

    def __init__(self, send: Sender):
        self._send = send

    def send_message(self, outgoingMessage, transportAddress):
        local = transportAddress.get_local_address()
        self._send(local[0], bytes(outgoingMessage), (transportAddress[0], transportAddress[1]))

    def deliver(self, message: bytes, peer: tuple[str, int], local: tuple[str, int]) -> None:
        address = udp.UdpTransportAddress(peer).set_local_address(local)
        self._callback_function(self, address, message)


class _HandOffDispatcher(AbstractTransportDispatcher):
    """Timer ticks are driven by the simulator's event loop (``tick``)."""


def _set_encoded_varbinds(pdu, varbinds: list[bytes]) -> None:
    """Put already-encoded varbinds into ``pdu``: pyasn1 writes an ``Any`` verbatim, so only the
    message envelope goes through its (slow) encoder and the values keep one encoding path."""
    varbind_list = pdu.setComponentByPosition(3).getComponentByPosition(3)
    varbind_list.clear()
    for i, varbind in enumerate(varbinds):
        varbind_list.setComponentByPosition(i, univ.Any(varbind), verifyConstraints=False,
                                            matchTags=False, matchConstraints=False)


class UsmResponder:
    """Answers authPriv GET/GETNEXT/GETBULK for user ``user`` (SHA auth, AES-128 privacy)."""

    def __init__(self, user: str, auth_key: str, priv_key: str, resolve: Resolver, send: Sender):
        self.user = user
        self._resolve = resolve
        self.engine = SnmpEngine()
        engine_config.add_v3_user(self.engine, user, engine_config.USM_AUTH_HMAC96_SHA, auth_key,
                                  engine_config.USM_PRIV_CFB128_AES, priv_key)
        self._dispatcher = _HandOffDispatcher()
        self.engine.register_transport_dispatcher(self._dispatcher)
        self._transport = _HandOffTransport(send)
        self._dispatcher.register_transport(udp.DOMAIN_NAME, self._transport)
        self.engine.message_dispatcher.register_context_engine_id(
            b"", tuple(_PDU_KINDS), self._process_pdu)

    def receive(self, message: bytes, peer: tuple[str, int], local: tuple[str, int]) -> None:
        """Feed one v3 datagram that arrived at ``local`` (the AP's address and port)."""
        try:
            self._transport.deliver(message, peer, local)
        except proto_error.PySnmpError as exc:  # malformed or unprocessable: an agent drops it
            log.debug("dropped SNMPv3 datagram from %s: %s", peer, exc)

    def tick(self, now: float) -> None:
        """Let the engine expire its caches; call about once a second."""
        self._dispatcher.handle_timer_tick(now)

    def _process_pdu(self, snmpEngine, messageProcessingModel, securityModel, securityName,
                     securityLevel, contextEngineId, contextName, pduVersion, PDU,
                     maxSizeResponseScopedPDU, stateReference):
        _, address = snmpEngine.message_dispatcher.get_transport_info(stateReference)
        local_ip = address.get_local_address()[0]
        response = v2c.apiPDU.get_response(PDU)
        answers = None
        if int(securityLevel) == AUTH_PRIV and str(securityName) == self.user:
            request = tuple((tuple(oid), b"") for oid, _ in v2c.apiPDU.get_varbinds(PDU))
            kind = _PDU_KINDS[PDU.tagSet]
            non_rep = max_rep = 0
            if kind == ber.GETBULK:
                non_rep = int(v2c.apiBulkPDU.get_non_repeaters(PDU))
                max_rep = int(v2c.apiBulkPDU.get_max_repetitions(PDU))
            answers = self._resolve(local_ip, kind, request, non_rep, max_rep)
        if answers is None:
            # Below authPriv or another user: refused like a VACM "noAccess".
            v2c.apiPDU.set_error_status(response, ber.AUTHORIZATION_ERROR)
            v2c.apiPDU.set_error_index(response, 0)
        else:
            _set_encoded_varbinds(response, [ber.encode_varbind(oid_tlv, tag, value)
                                             for oid_tlv, _, tag, value in answers])
        try:
            snmpEngine.message_dispatcher.return_response_pdu(
                snmpEngine, messageProcessingModel, securityModel, securityName, securityLevel,
                contextEngineId, contextName, pduVersion, response, maxSizeResponseScopedPDU,
                stateReference, {})
        except proto_error.StatusInformation as exc:  # e.g. tooBig for the manager's msgMaxSize
            log.debug("SNMPv3 response dropped: %s", exc)
