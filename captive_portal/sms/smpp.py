"""SMPP 3.4 straight to an operator's SMSC: the one module that imports ``smpplib``.

One bind (``bind_transceiver``) carries everything: ``submit_sm`` out, and on the same
connection the SMSC's ``deliver_sm``: delivery receipts and citizens' replies (MO). The process
that started the SMS service (``SmsService.start``: the controller's 940 pipeline) holds that
bind. A process that only sends (a portal worker sending login codes) binds as a transmitter on
its first message: the SMSC then hands receipts and replies to the transceiver, never to a
process with nowhere to put them. The driver owns each connection: a thread (``smpp-link``) connects, binds, reads every PDU, answers
``enquire_link``, sends its own ``enquire_link`` when the link has been quiet for
``smpp_enquire_link_s`` (and drops a link whose answer does not come within ``timeout_s``),
and when the link fails it reconnects with exponential backoff (``smpp_reconnect_min_s``
doubling up to ``smpp_reconnect_max_s``). Senders (any thread) write their PDUs under one
lock and wait for their own ``submit_sm_resp`` by sequence number.

Text: GSM-7 (``data_coding`` 0, the SMSC default alphabet, unpacked septets) when every
character is in GSM 03.38, else UCS-2 (``data_coding`` 8, UTF-16BE) -- Arabic is always UCS-2.
A text longer than one SMS is split by `captive_portal.sms.segments` (never inside an escape or
a surrogate pair) and sent as concatenated parts, each its own ``submit_sm``: with a UDH
(``smpp_concatenation = "udh"``, the default: the 8-bit reference IE 0x00 every handset
reassembles, ``esm_class`` 0x40) or with the SAR TLVs (``"sar"``: ``sar_msg_ref_num``,
``sar_total_segments``, ``sar_segment_seqnum``, for SMSCs that build the UDH themselves).

Receipts: a ``deliver_sm`` whose ``esm_class`` says "SMSC delivery receipt" names the message
by the ``receipted_message_id`` TLV or, failing that, the ``id:`` of the receipt text; its
state comes from the ``message_state`` TLV or the text's ``stat:`` (``DELIVRD`` delivered,
``EXPIRED`` expired, ``UNDELIV``/``REJECTD``/``DELETED`` failed; ``ACCEPTD``/``ENROUTE``/
``UNKNOWN`` are not final and ignored). A concatenated message has one SMSC id per part: the
driver answers the service with the first part's id and folds the parts' receipts into one
(delivered when every part is, failed or expired as soon as one part is). That fold is kept in
memory: after a restart the first part's receipt speaks for the message. A receipt that
overtakes our record of the id (the SMSC can be quicker than our commit) is kept by the service
and applied when the id is recorded. ``ENROUTE`` (held for a phone that is off) is reported as
``buffered``.

Throttling: an SMSC grants each bind a rate (submit_sm per second) and answers faster senders
with ESME_RTHROTTLED. The pace (``smpp_rate``) is held in this process, per bind, not in the
store like the portal's rate limits: the limit belongs to the connection, and one connection is
one process's socket, so no other worker or node can spend it. Every ``submit_sm`` (each part
counts) waits its turn; a ESME_RTHROTTLED answer anyway is retried after a pause.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from captive_portal.sms import segments
from captive_portal.sms.base import IncomingSink, OutgoingSms, ReceiptSink, SmsSendError

log = logging.getLogger(__name__)
#: smpplib's own log: at DEBUG it writes every PDU in hex, the bind's password among them, so it
#: is held at INFO whatever the root logger says.
PDU_LOG = f"{__name__}.pdu"
logging.getLogger(PDU_LOG).setLevel(logging.INFO)

ESM_RECEIPT = 0x04          # esm_class bits 2-5: SMSC delivery receipt
ESM_TYPE_MASK = 0x3C
ESM_UDHI = 0x40
CODING_DEFAULT = 0x00       # SMSC default alphabet (GSM 03.38, one septet per octet)
CODING_UCS2 = 0x08
ROK = smpplib.consts.SMPP_ESME_ROK
THROTTLED = smpplib.consts.SMPP_ESME_RTHROTTLED
#: submit_sm answers worth trying again later (the message itself was fine).
TEMPORARY = frozenset({THROTTLED, smpplib.consts.SMPP_ESME_RMSGQFUL,
                       smpplib.consts.SMPP_ESME_RSYSERR, 0x45})  # 0x45: submit_sm failed
#: Receipt ``stat:`` words and ``message_state`` values -> our delivery states.
RECEIPT_STATES = {"DELIVRD": "delivered", "EXPIRED": "expired", "UNDELIV": "failed",
                  "REJECTD": "failed", "DELETED": "failed", "ENROUTE": "buffered"}
MESSAGE_STATES = {1: "buffered", 2: "delivered", 3: "expired", 4: "failed", 5: "failed",
                  8: "failed"}
FINAL = frozenset({"delivered", "failed", "expired"})
CONCATENATION = ("udh", "sar")
#: Concatenated messages whose receipts are awaited, and citizens' replies whose parts are
#: awaited (bounds on memory: the oldest go first).
MESSAGES_KEPT = 20_000
REPLIES_KEPT = 1_000


class SmppError(RuntimeError):
    """The SMSC refused a PDU or the link failed; ``retryable`` as for SmsSendError."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class SmppSettings:
    """The bind and how to use it (``[sms]`` keys ``smpp_*``, and ``timeout_s``)."""

    host: str
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    source_ton: int = 5         # alphanumeric sender ("AMANAH"); 1 for an international number
    source_npi: int = 0
    dest_ton: int = 1           # international (E.164 without the +)
    dest_npi: int = 1           # ISDN
    rate: float = 10.0          # submit_sm per second the bind may send
    enquire_link_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    timeout_s: float = 10.0
    concatenation: str = "udh"

    def __repr__(self) -> str:  # never the password
        return (f"SmppSettings(host={self.host!r}, port={self.port}, "
                f"system_id={self.system_id!r})")

    @classmethod
    def from_config(cls, config: Any) -> SmppSettings:
        return cls(host=config.smpp_host, port=config.smpp_port,
                   system_id=config.smpp_system_id, password=config.smpp_password,
                   system_type=config.smpp_system_type, source_ton=config.smpp_source_ton,
                   source_npi=config.smpp_source_npi, dest_ton=config.smpp_dest_ton,
                   dest_npi=config.smpp_dest_npi, rate=config.smpp_rate,
                   enquire_link_s=config.smpp_enquire_link_s,
                   reconnect_min_s=config.smpp_reconnect_min_s,
                   reconnect_max_s=config.smpp_reconnect_max_s, timeout_s=config.timeout_s,
                   concatenation=config.smpp_concatenation)


class Pacer:
    """At most ``rate`` turns per second, across every thread of the process."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate
        self.clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    @contextlib.contextmanager
    def turn(self, stop: threading.Event) -> Iterator[bool]:
        """Wait for this caller's turn and hold it while the caller writes; the next turn
        comes ``1/rate`` after this one ends, so writes are spaced however late a thread ran.
        Yields False (and takes no turn) if ``stop`` was set meanwhile."""
        with self._lock:
            if stop.wait(max(0.0, self._next - self.clock())):
                yield False
                return
            try:
                yield True
            finally:
                self._next = self.clock() + self.interval

    def hold(self, seconds: float) -> None:
        """Nobody's turn comes before ``seconds`` from now (the SMSC said we were too quick)."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)


# -- text ----------------------------------------------------------------------------------------
_GSM7_DECODE = {i if i < 0x1B else i + 1: ch for i, ch in enumerate(segments.GSM7_BASIC)}
_GSM7_EXT_DECODE = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[",
                    0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}


def decode_gsm7(data: bytes) -> str:
    """Unpacked GSM 03.38 septets to text (unknown codes become ``?``)."""
    out: list[str] = []
    escaped = False
    for octet in data:
        if escaped:
            out.append(_GSM7_EXT_DECODE.get(octet, "?"))
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            out.append(_GSM7_DECODE.get(octet, "?"))
    return "".join(out)


def decode_text(data: bytes, coding: int) -> str:
    if coding == CODING_UCS2:
        return data.decode("utf-16-be", errors="replace")
    if coding == CODING_DEFAULT:
        return decode_gsm7(data)
    if coding == 0x01:
        return data.decode("ascii", errors="replace")
    return data.decode("latin-1")


def encode_parts(text: str) -> tuple[int, list[bytes]]:
    """``(data_coding, [octets of each part])`` for ``text``."""
    encoding = segments.encoding_of(text)
    parts = segments.split(text, encoding) or [""]
    if len(parts) > segments.MAX_PARTS:
        raise SmppError(f"text of {len(parts)} parts (at most {segments.MAX_PARTS})",
                        retryable=False)
    if encoding == segments.UCS2:
        return CODING_UCS2, [part.encode("utf-16-be") for part in parts]
    return CODING_DEFAULT, [segments.encode_gsm7(part) for part in parts]


_RECEIPT_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


def parse_receipt(text: str) -> dict[str, str]:
    """The ``id``, ``stat`` and ``err`` of an SMSC receipt text (SMPP 3.4 appendix B)."""
    return {key.lower(): value for key, value in _RECEIPT_FIELD.findall(text)}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


# -- the link ------------------------------------------------------------------------------------
class _Group:
    """The parts of one concatenated message: their receipts fold into the first part's id."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.head: str | None = None


class _Pending:
    """A request waiting for its response PDU."""

    def __init__(self, group: _Group | None = None) -> None:
        self.done = threading.Event()
        self.response: Any = None
        self.error: str | None = None
        self.group = group


class _LinkLost(Exception):
    pass


#: What ends one connection (it is bound again); anything else is logged with its traceback and
#: ends the connection too: the link's thread never dies.
LINK_ERRORS = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
               smpplib.exceptions.UnknownCommandError, OSError, _LinkLost)


class SmppLink:
    """The bind: connection, reader thread, enquire_link, reconnects, paced submits."""

    def __init__(self, settings: SmppSettings, *, on_receipt: ReceiptSink | None,
                 on_incoming: IncomingSink | None, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.on_receipt = on_receipt
        self.on_incoming = on_incoming
        #: Without callbacks the link only sends: it binds as a transmitter.
        self.mode = "bind_transceiver" if on_receipt and on_incoming else "bind_transmitter"
        self.clock = clock
        self.pacer = Pacer(settings.rate, clock)
        self.bound = threading.Event()
        #: Binds made so far (1 after the first; each reconnect adds one).
        self.binds = 0
        self._stop = threading.Event()
        self._write = threading.Lock()
        self._client: smpplib.client.Client | None = None
        self._pending: dict[int, _Pending] = {}
        self._reference = 0
        self._parts: dict[str, tuple[str, int]] = {}          # part id -> (first id, parts)
        self._groups: dict[str, list[str]] = {}               # first id -> its parts' ids
        self._part_states: dict[str, dict[str, str]] = {}     # first id -> part id -> state
        self._mo_parts: dict[tuple[str, int], dict[int, str]] = {}
        # deliver_sm are handled off the reader thread: the service may answer a reply with an
        # SMS, whose submit_sm_resp only the reader can read.
        self._deliveries: queue.Queue[tuple[Any, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="smpp-link", daemon=True)
        self._worker = threading.Thread(target=self._handle_deliveries, name="smpp-deliveries",
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Unbind (if bound), close the connection and end the threads."""
        self._stop.set()
        self._deliveries.put(None)
        self._thread.join(timeout)
        self._worker.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                client = self._bind()
            except Exception as exc:  # see LINK_ERRORS: the thread must not die
                if not isinstance(exc, LINK_ERRORS):
                    log.exception("SMPP bind: unexpected error")
                failures += 1
                delay = min(self.settings.reconnect_max_s,
                            self.settings.reconnect_min_s * 2 ** (failures - 1))
                log.warning("SMPP bind to %s:%s failed (%s); next try in %.1f s",
                            self.settings.host, self.settings.port, _reason(exc), delay)
                self._stop.wait(delay)
                continue
            failures = 0
            try:
                self._serve(client)
            except LINK_ERRORS as exc:
                log.warning("SMPP link to %s:%s lost: %s", self.settings.host,
                            self.settings.port, _reason(exc))
            except Exception:
                log.exception("SMPP link to %s:%s: unexpected error; binding again",
                              self.settings.host, self.settings.port)
            finally:
                self._close(client)
            if not self._stop.is_set():
                failures = 1
                self._stop.wait(self.settings.reconnect_min_s)

    def _bind(self) -> smpplib.client.Client:
        client = smpplib.client.Client(self.settings.host, self.settings.port,
                                       timeout=self.settings.timeout_s,
                                       allow_unknown_opt_params=True,
                                       logger_name=PDU_LOG)
        try:
            client.connect()
            getattr(client, self.mode)(system_id=self.settings.system_id,
                                       password=self.settings.password,
                                       system_type=self.settings.system_type,
                                       interface_version=0x34)
        except BaseException:
            client.disconnect()
            raise
        self._client = client
        self.binds += 1
        self.bound.set()
        log.info("SMPP %s to %s:%s as %s", self.mode, self.settings.host, self.settings.port,
                 self.settings.system_id)
        return client

    def _close(self, client: smpplib.client.Client) -> None:
        self.bound.clear()
        with self._write:
            self._client = None
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.error = "the SMPP link was lost before the SMSC answered"
            waiter.done.set()
        client.disconnect()

    def _serve(self, client: smpplib.client.Client) -> None:
        sock = client._socket
        assert sock is not None
        quiet_since = self.clock()
        enquiry_sent: float | None = None
        unbind_sent: float | None = None
        while True:
            now = self.clock()
            if self._stop.is_set() and unbind_sent is None:
                self._send(client, "unbind")
                unbind_sent = now
            if unbind_sent is not None and now - unbind_sent > min(2.0, self.settings.timeout_s):
                return
            readable, _, _ = select.select([sock], [], [], 0.1)
            now = self.clock()
            if readable:
                try:
                    pdu = client.read_pdu()
                except smpplib.exceptions.UnknownCommandError as exc:
                    # Read whole before it was refused: the stream is still in step.
                    log.warning("SMPP: a PDU of an unknown command ignored (%s)", _reason(exc))
                    continue
                quiet_since = now
                if pdu.command == "enquire_link_resp":
                    enquiry_sent = None
                elif pdu.command == "unbind_resp":
                    return
                else:
                    self._dispatch(client, pdu)
            if enquiry_sent is not None and now - enquiry_sent > self.settings.timeout_s:
                raise _LinkLost(f"no enquire_link_resp within {self.settings.timeout_s} s")
            if enquiry_sent is None and now - quiet_since >= self.settings.enquire_link_s:
                self._send(client, "enquire_link")
                enquiry_sent = now

    def _send(self, client: Any, command: str, *,
              answer_to: int | None = None, waiter: _Pending | None = None,
              **fields: Any) -> int:
        """Write one PDU (under the write lock: sequence numbers and the socket are shared)."""
        with self._write:
            current = self._client
            if current is None or current is not client:
                raise _LinkLost("the SMPP link was replaced")
            pdu = smpplib.smpp.make_pdu(command, client=current, **fields)
            if answer_to is not None:
                pdu.sequence = answer_to
            if waiter is not None:
                self._pending[pdu.sequence] = waiter
            try:
                current.send_pdu(pdu)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError):
                self._pending.pop(pdu.sequence, None)
                raise
            return int(pdu.sequence)

    def _dispatch(self, client: smpplib.client.Client, pdu: Any) -> None:
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            waiter = self._pending.pop(int(pdu.sequence), None)
            if waiter is None:
                return
            if waiter.group is not None and int(pdu.status) == ROK:
                # Here, before the next PDU is read: the part's receipt may be that PDU.
                part = _text(pdu.message_id).rstrip("\0")
                waiter.group.head = waiter.group.head or part
                with self._write:
                    self._parts[part] = (waiter.group.head, waiter.group.total)
                    self._groups.setdefault(waiter.group.head, []).append(part)
                    if len(self._groups) > MESSAGES_KEPT:  # receipts that never came
                        self._forget(next(iter(self._groups)))
            waiter.response = pdu
            waiter.done.set()
        elif command == "deliver_sm":
            if self.on_receipt is None or self.on_incoming is None:  # a transmitter
                self._send(client, "deliver_sm_resp", answer_to=int(pdu.sequence),
                           status=smpplib.consts.SMPP_ESME_RX_T_APPN)
            else:
                self._deliveries.put((client, pdu))
        elif command == "enquire_link":
            self._send(client, "enquire_link_resp", answer_to=int(pdu.sequence))
        elif command == "unbind":
            self._send(client, "unbind_resp", answer_to=int(pdu.sequence))
            raise _LinkLost("the SMSC unbound")
        else:
            log.info("SMPP: %s ignored", command)

    # -- deliver_sm: receipts and replies ---------------------------------------------------------
    def _handle_deliveries(self) -> None:
        """One at a time, in the order they came: each answered once the service has it."""
        while True:
            item = self._deliveries.get()
            if item is None:
                return
            client, pdu = item
            status = self._delivered(pdu)
            try:
                self._send(client, "deliver_sm_resp", answer_to=int(pdu.sequence), status=status)
            except LINK_ERRORS as exc:  # unanswered: the SMSC delivers it again
                log.info("SMPP deliver_sm_resp not sent: %s", _reason(exc))

    def _delivered(self, pdu: Any) -> int:
        """Handle one deliver_sm; the status to answer it with."""
        esm_class = int(pdu.esm_class or 0)
        data = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        coding = int(pdu.data_coding or 0)
        try:
            if esm_class & ESM_TYPE_MASK == ESM_RECEIPT:
                self._receipt(pdu, decode_text(data, coding))
                return ROK
            text = self._mo_text(_text(pdu.source_addr), esm_class, data, coding)
            if text is not None and self.on_incoming is not None:
                self.on_incoming(_international(_text(pdu.source_addr), pdu.source_addr_ton),
                                 text)
            return ROK
        except Exception:  # the SMSC keeps it and delivers it again: nothing is lost
            log.exception("SMPP deliver_sm not taken; the SMSC is asked to retry")
            return smpplib.consts.SMPP_ESME_RX_T_APPN

    def _receipt(self, pdu: Any, text: str) -> None:
        fields = parse_receipt(text)
        part_id = _text(getattr(pdu, "receipted_message_id", None)).rstrip("\0") or \
            fields.get("id", "")
        state = MESSAGE_STATES.get(int(getattr(pdu, "message_state", None) or 0)) or \
            RECEIPT_STATES.get(fields.get("stat", "").upper())
        if not part_id or state is None:
            log.info("SMPP receipt without a final state or id: %r", text[:160])
            return
        error = None if state in ("delivered", "buffered") else \
            f"{fields.get('stat', state).upper()} err:{fields.get('err', '')}"
        folded = self._fold(part_id, state)
        if folded is not None and self.on_receipt is not None:
            self.on_receipt(folded[0], folded[1], detail=error)

    def _fold(self, part_id: str, state: str) -> tuple[str, str] | None:
        """A part's receipt -> the message's (first id, state), or None while parts are out."""
        with self._write:
            head, total = self._parts.get(part_id, (part_id, 1))
            if total == 1:
                return head, state
            if state not in FINAL:
                return (head, state) if part_id == head else None
            states = self._part_states.setdefault(head, {})
            states[part_id] = state
            if state != "delivered":
                self._forget(head)
                return head, state
            if len(states) < total:
                return None
            self._forget(head)
            return head, "delivered"

    def _forget(self, head: str) -> None:
        self._part_states.pop(head, None)
        for part in self._groups.pop(head, ()):
            self._parts.pop(part, None)

    def _mo_text(self, sender: str, esm_class: int, data: bytes, coding: int) -> str | None:
        """The reply's text; None while parts of a concatenated reply are missing."""
        if not esm_class & ESM_UDHI or not data:
            return decode_text(data, coding)
        header, body = data[1:1 + data[0]], data[1 + data[0]:]
        concat = _concatenation_ie(header)
        text = decode_text(body, coding)
        if concat is None:
            return text
        reference, total, seq = concat
        if (sender, reference) not in self._mo_parts and len(self._mo_parts) >= REPLIES_KEPT:
            del self._mo_parts[next(iter(self._mo_parts))]  # parts that never came
        parts = self._mo_parts.setdefault((sender, reference), {})
        parts[seq] = text
        if len(parts) < total:
            return None
        del self._mo_parts[(sender, reference)]
        return "".join(parts[i] for i in sorted(parts))

    # -- submit_sm ------------------------------------------------------------------------------
    def submit(self, to: str, text: str, sender: str) -> str:
        """Send ``text`` (in as many parts as it needs); the id receipts will name."""
        coding, parts = encode_parts(text)
        with self._write:
            self._reference = (self._reference + 1) % 0x10000
            reference = self._reference
        total = len(parts)
        group = _Group(total) if total > 1 else None
        ids: list[str] = []
        for seq, payload in enumerate(parts, start=1):
            fields: dict[str, Any] = {}
            esm_class = 0
            if total > 1 and self.settings.concatenation == "udh":
                payload = bytes((5, 0x00, 3, reference & 0xFF, total, seq)) + payload
                esm_class = ESM_UDHI
            elif total > 1:
                fields = {"sar_msg_ref_num": reference, "sar_total_segments": total,
                          "sar_segment_seqnum": seq}
            ids.append(self._submit_part(
                source_addr_ton=self.settings.source_ton,
                source_addr_npi=self.settings.source_npi, source_addr=sender,
                dest_addr_ton=self.settings.dest_ton, dest_addr_npi=self.settings.dest_npi,
                destination_addr=to.lstrip("+"), esm_class=esm_class, data_coding=coding,
                registered_delivery=1, short_message=payload, group=group, **fields))
        return ids[0]

    def _submit_part(self, group: _Group | None, **fields: Any) -> str:
        for _ in range(5):  # ESME_RTHROTTLED: wait and offer the same part again
            if not self.bound.wait(self.settings.timeout_s) or self._client is None:
                raise SmppError("the SMPP link is down (reconnecting)")
            with self.pacer.turn(self._stop) as ours:
                if not ours:
                    raise SmppError("the SMPP driver is stopping")
                waiter = self._submit(fields, group)
            response = self._response(waiter)
            status = int(response.status)
            if status == ROK:
                return _text(response.message_id).rstrip("\0")
            if status != THROTTLED:
                description = smpplib.consts.DESCRIPTIONS.get(status, "unknown status")
                raise SmppError(f"SMSC refused submit_sm: 0x{status:08x} {description}",
                                retryable=status in TEMPORARY, status=status)
            self.pacer.hold(1.0)
        raise SmppError("the SMSC kept answering ESME_RTHROTTLED", status=THROTTLED)

    def _submit(self, fields: dict[str, Any], group: _Group | None) -> _Pending:
        """Write one submit_sm; the waiter its response will be handed to."""
        client = self._client
        if client is None:
            raise SmppError("the SMPP link is down (reconnecting)")
        waiter = _Pending(group)
        try:
            self._send(client, "submit_sm", waiter=waiter, **fields)
        except LINK_ERRORS as exc:
            raise SmppError(f"submit_sm not sent: {_reason(exc)}") from None
        return waiter

    def _response(self, waiter: _Pending) -> Any:
        if not waiter.done.wait(self.settings.timeout_s):
            with self._write:
                self._pending.pop(next((s for s, w in self._pending.items() if w is waiter),
                                       -1), None)
            raise SmppError(f"no submit_sm_resp within {self.settings.timeout_s} s")
        if waiter.error is not None:
            raise SmppError(waiter.error)
        return waiter.response


def _concatenation_ie(header: bytes) -> tuple[int, int, int] | None:
    """(reference, total, seq) from a UDH's concatenation IE (8- or 16-bit reference)."""
    i = 0
    while i + 2 <= len(header):
        ie, length = header[i], header[i + 1]
        value = header[i + 2:i + 2 + length]
        if ie == 0x00 and length == 3:
            return value[0], value[1], value[2]
        if ie == 0x08 and length == 4:
            return (value[0] << 8) | value[1], value[2], value[3]
        i += 2 + length
    return None


def _reason(exc: BaseException) -> str:
    """An exception as one readable phrase (smpplib's carry ``(text, status)`` tuples)."""
    if exc.args and isinstance(exc.args[0], str) and exc.args[0]:
        return exc.args[0]
    return str(exc) or type(exc).__name__


def _international(address: str, ton: Any) -> str:
    """A sender as E.164 when the SMSC says it is international and left the ``+`` off."""
    if int(ton or 0) == 1 and address.isdigit():
        return "+" + address
    return address


def probe(settings: SmppSettings) -> str | None:
    """Bind as a transmitter and unbind at once (nothing is sent): None when the SMSC accepted
    the bind, else what went wrong (for ``oasis check``; never the password)."""
    client = smpplib.client.Client(settings.host, settings.port, timeout=settings.timeout_s,
                                   allow_unknown_opt_params=True, logger_name=PDU_LOG)
    try:
        client.connect()
        client.bind_transmitter(system_id=settings.system_id, password=settings.password,
                                system_type=settings.system_type, interface_version=0x34)
        client.unbind()
    except smpplib.exceptions.PDUError as exc:
        return f"the SMSC refused the bind: {_reason(exc)}"
    except (smpplib.exceptions.ConnectionError, OSError) as exc:
        return f"cannot reach {settings.host}:{settings.port}: {_reason(exc)}"
    finally:
        client.disconnect()
    return None


class SmppSmsDriver:
    """The ``smpp`` entry of the driver table: `SmppLink` behind the `SmsDriver` protocol."""

    name = "smpp"

    def __init__(self, settings: SmppSettings):
        self.settings = settings
        self.link: SmppLink | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any) -> SmppSmsDriver:
        return cls(SmppSettings.from_config(config))

    def __repr__(self) -> str:  # never the password
        return f"SmppSmsDriver({self.settings!r})"

    def start(self, on_receipt: ReceiptSink, on_incoming: IncomingSink) -> None:
        """Open the transceiver bind (in the background: a down SMSC does not hold up
        start-up); a transmitter bind opened by an earlier send gives way to it."""
        with self._lock:
            if self.link is not None and self.link.mode == "bind_transceiver":
                return
            if self.link is not None:
                self.link.stop()
            self.link = SmppLink(self.settings, on_receipt=on_receipt, on_incoming=on_incoming)
            self.link.start()

    def stop(self) -> None:
        with self._lock:
            link, self.link = self.link, None
        if link is not None:
            link.stop()

    def send(self, message: OutgoingSms) -> str:
        with self._lock:
            if self.link is None:  # a process that only sends: a transmitter bind
                self.link = SmppLink(self.settings, on_receipt=None, on_incoming=None)
                self.link.start()
            link = self.link
        try:
            return link.submit(message.to, message.body, message.sender)
        except SmppError as exc:
            raise SmsSendError(str(exc), retryable=exc.retryable) from None


__all__ = ["CONCATENATION", "Pacer", "SmppError", "SmppLink", "SmppSettings", "SmppSmsDriver",
           "decode_gsm7", "decode_text", "encode_parts", "parse_receipt", "probe"]
