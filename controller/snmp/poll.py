"""What one poll asks an AP and how the answer becomes a `PollResult`, whatever carried it.

The controller has two SNMP paths (``snmp.py``): pysnmp for v3, where USM needs a real engine,
and a hand-written v2c fast path (``snmp_v2c.py``), because decoding responses with pyasn1 cost
~70 % of the poller's CPU. Both hand this module the same plain varbinds, ``(oid tuple, BER tag,
value)``, so the request layout, the GETBULK continuation and the reading of columns exist once.
Nothing here imports pysnmp.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Awaitable, Callable, cast

from core import snmp_ber as ber
from netconfig.platforms import ClientCountSource, get_platform

Oid = tuple[int, ...]
#: One varbind as both paths deliver it: (OID, BER tag of the value, decoded value).
Varbind = tuple[Oid, int, object]
#: Sends one GETBULK: (non-repeater OIDs, repeater OIDs, max-repetitions) -> varbinds.
GetBulk = Callable[[list[Oid], list[Oid], int], Awaitable[list[Varbind]]]

SYSTEM_OIDS = {"sys_descr": "1.3.6.1.2.1.1.1", "uptime": "1.3.6.1.2.1.1.3",
               "sys_name": "1.3.6.1.2.1.1.5"}
#: Interface columns read per AP: IF-MIB ifTable and ifXTable (HC counters).
INTERFACE_COLUMNS = {
    "if_name": "1.3.6.1.2.1.31.1.1.1.1",     # text; read each poll so a renamed port shows
    "if_type": "1.3.6.1.2.1.2.2.1.3",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
    "in_octets": "1.3.6.1.2.1.31.1.1.1.6",
    "in_packets": "1.3.6.1.2.1.31.1.1.1.7",
    "out_octets": "1.3.6.1.2.1.31.1.1.1.10",
    "out_packets": "1.3.6.1.2.1.31.1.1.1.11",
}
CLIENT_COLUMN = "clients"
DEFAULT_MAX_REPETITIONS = 8
MAX_MAX_REPETITIONS = 48          # keeps a response under a typical 1,500-byte-ish MTU budget
MAX_REQUESTS_PER_POLL = 16        # guards against agents that never end a table
_END_OF_COLUMN = ber.EXCEPTIONS | {ber.NULL}


class SnmpError(Exception):
    """An SNMP exchange failed for a reason other than timeout or credentials."""


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1). SNMPv2c has no auth signal: a wrong community
    looks like this too."""


class SnmpTooBig(SnmpError):
    """The agent answered tooBig: the response would not fit; ask for fewer rows."""


class SnmpAuthError(SnmpError):
    """The agent answered with a USM error: unknown user, wrong digest, undecryptable, ..."""


@dataclass
class PollResult:
    """What one poll read, as plain values. Missing objects are None / absent keys."""

    sys_descr: str | None = None
    uptime_ticks: int | None = None              # sysUpTime, hundredths of a second
    sys_name: str | None = None
    client_scalar: int | str | None = None       # the platform's scalar, raw (int or text)
    client_column: dict[int, int] = field(default_factory=dict)   # row index -> value
    #: ifIndex -> column -> value (ints, and text for if_name)
    interfaces: dict[int, dict[str, int | str]] = field(default_factory=dict)
    requests: int = 0


def scalar_request_oid(oid: Oid) -> Oid:
    """The OID whose GETNEXT answers ``oid`` itself or its first instance.

    Platform objects are given either as an object (``...X.5``: the value is ``...X.5.0``) or as
    a full instance (NET-SNMP-EXTEND ``nsExtendOutput1Line."clients"``). GETNEXT of the object
    works for the first but skips the second, so ask for the next of a point just before
    ``oid``: its last arc minus one followed by the largest arc, which nothing real lies beyond.
    """
    if oid[-1] == 0:
        return oid[:-1]
    return oid[:-1] + (oid[-1] - 1, 4294967295)


def python_value(tag: int, value: object) -> int | str | None:
    """A varbind value as the rest of the controller sees it: text for OCTET STRING (and
    dotted forms for addresses and OIDs), int for numbers, None for NULL and the exceptions."""
    if tag in _END_OF_COLUMN:
        return None
    return _present_value(tag, value)


def _present_value(tag: int, value: object) -> int | str:
    """`python_value` of a varbind that holds a value (not NULL, not an exception)."""
    # snmp_ber decodes OCTET STRING, IpAddress and unknown types to bytes, OIDs to int tuples.
    if tag == ber.OCTET_STRING:
        return cast(bytes, value).decode("utf-8", "replace")
    if tag == ber.IP_ADDRESS:
        return str(ipaddress.IPv4Address(cast(bytes, value)))
    if tag == ber.OBJECT_IDENTIFIER:
        return ".".join(map(str, cast(tuple, value)))
    if isinstance(value, int):
        return value
    return cast(bytes, value).hex()  # Opaque and other raw types


def _oid(text: str) -> Oid:
    return tuple(int(arc) for arc in text.split("."))


_SYSTEM_PREFIXES = {name: _oid(oid) for name, oid in SYSTEM_OIDS.items()}


@dataclass
class PollPlan:
    """The request layout of one AP (by platform), and the max-repetitions learned for it."""

    client_source: ClientCountSource | None
    non_repeaters: tuple[tuple[str, Oid], ...]     # (field, requested oid)
    scalar_oid: Oid | None
    columns: tuple[tuple[str, Oid], ...]           # (column, column oid)
    max_repetitions: int = DEFAULT_MAX_REPETITIONS
    #: Lowered when the agent answers tooBig, so learning never climbs back above what fits.
    repetitions_ceiling: int = MAX_MAX_REPETITIONS

    @classmethod
    def for_platform(cls, platform: str, max_repetitions: int) -> "PollPlan":
        """Raises UnknownPlatform for a platform the table does not know."""
        source = get_platform(platform).client_count
        non_repeaters = [(name, _oid(oid)) for name, oid in SYSTEM_OIDS.items()]
        columns = [(name, _oid(oid)) for name, oid in INTERFACE_COLUMNS.items()]
        scalar_oid = None
        if source is not None and source.kind == "scalar":
            scalar_oid = _oid(source.oid)
            non_repeaters.append((CLIENT_COLUMN, scalar_request_oid(scalar_oid)))
        elif source is not None:
            columns.append((CLIENT_COLUMN, _oid(source.oid)))
        return cls(source, tuple(non_repeaters), scalar_oid, tuple(columns), max_repetitions)

    @property
    def request_oids(self) -> tuple[list[Oid], list[Oid]]:
        """(non-repeaters, repeaters) of the first GETBULK of a poll."""
        return [oid for _, oid in self.non_repeaters], [oid for _, oid in self.columns]


async def run_poll(plan: PollPlan, getbulk: GetBulk) -> PollResult:
    """One poll: a GETBULK, then more only for columns that did not end inside it."""
    result = PollResult()
    columns = plan.columns
    non_repeaters, starts = plan.request_oids
    rows_seen = 0
    while True:
        result.requests += 1
        try:
            varbinds = await getbulk(non_repeaters, starts, plan.max_repetitions)
        except SnmpTooBig:
            # Agents may refuse a GETBULK they cannot fit instead of truncating it.
            if plan.max_repetitions == 1 or result.requests >= MAX_REQUESTS_PER_POLL:
                raise
            plan.max_repetitions //= 2
            plan.repetitions_ceiling = plan.max_repetitions
            continue
        head, rows = varbinds[:len(non_repeaters)], varbinds[len(non_repeaters):]
        if non_repeaters:
            _read_non_repeaters(plan, head, result)
            non_repeaters = []
        pending, starts, rows_seen = _read_columns(columns, starts, rows, result, rows_seen)
        if not pending or result.requests >= MAX_REQUESTS_PER_POLL:
            break
        columns = pending
    # One spare row makes the end of the table visible inside the same response.
    plan.max_repetitions = max(1, min(plan.repetitions_ceiling, rows_seen + 1))
    return result


def _read_non_repeaters(plan: PollPlan, head: list[Varbind], result: PollResult) -> None:
    for (name, _), (oid, tag, value) in zip(plan.non_repeaters, head):
        if name == CLIENT_COLUMN:
            wanted = plan.scalar_oid
            if wanted and oid[:len(wanted)] == wanted:
                result.client_scalar = python_value(tag, value)
            continue
        prefix = _SYSTEM_PREFIXES[name]
        if oid[:len(prefix)] != prefix:
            continue
        setattr(result, name if name != "uptime" else "uptime_ticks", python_value(tag, value))


def _read_columns(columns, starts, rows: list[Varbind], result: PollResult, rows_seen: int):
    """Sort GETBULK rows into columns; returns the columns that did not end, where to continue
    each one, and the most rows any column has had."""
    width = len(columns)
    ended = [False] * width
    last = list(starts)
    counts = [0] * width
    for position, (oid, tag, value) in enumerate(rows):
        column = position % width
        if ended[column]:
            continue
        name, prefix = columns[column]
        if tag in _END_OF_COLUMN or oid[:len(prefix)] != prefix or oid <= last[column] \
                or len(oid) <= len(prefix):
            ended[column] = True
            continue
        last[column] = oid
        counts[column] += 1
        index = oid[len(prefix)]
        if name == CLIENT_COLUMN:
            if isinstance(value, int):
                result.client_column[index] = value
        else:
            result.interfaces.setdefault(index, {})[name] = _present_value(tag, value)
    rows_seen = max(rows_seen, len(result.interfaces), len(result.client_column))
    pending = [columns[i] for i in range(width) if not ended[i]]
    next_starts = [last[i] for i in range(width) if not ended[i]]
    return pending, next_starts, rows_seen


__all__ = ["CLIENT_COLUMN", "DEFAULT_MAX_REPETITIONS", "INTERFACE_COLUMNS", "GetBulk",
           "MAX_MAX_REPETITIONS", "MAX_REQUESTS_PER_POLL", "PollPlan", "PollResult",
           "SYSTEM_OIDS", "SnmpAuthError", "SnmpError", "SnmpTimeout", "SnmpTooBig", "Varbind",
           "python_value", "run_poll", "scalar_request_oid"]
