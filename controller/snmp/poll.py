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
    "admin_status": "1.3.6.1.2.1.2.2.1.7",   # 1 up, 2 down, 3 testing
    "oper_status": "1.3.6.1.2.1.2.2.1.8",    # 1 up, 2 down, ... 7 lowerLayerDown
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
    "in_octets": "1.3.6.1.2.1.31.1.1.1.6",
    "in_packets": "1.3.6.1.2.1.31.1.1.1.7",
    "out_octets": "1.3.6.1.2.1.31.1.1.1.10",
    "out_packets": "1.3.6.1.2.1.31.1.1.1.11",
}
#: ifTable columns read instead, per AP, once a poll shows interfaces without ifXTable values:
#: devices without 64-bit counters (ubiquiti-m5, Windows XP) and agents without ifName.
LEGACY_COLUMNS = {
    "if_descr": "1.3.6.1.2.1.2.2.1.2",
    "in_octets32": "1.3.6.1.2.1.2.2.1.10",
    "in_packets32": "1.3.6.1.2.1.2.2.1.11",
    "out_octets32": "1.3.6.1.2.1.2.2.1.16",
    "out_packets32": "1.3.6.1.2.1.2.2.1.17",
}
#: What each ifXTable column falls back to when an interface has no value in it.
_FALLBACKS = {"if_name": ("if_descr",),
              "in_octets": ("in_octets32", "in_packets32", "out_octets32", "out_packets32")}
_HC_COLUMNS = ("in_octets", "in_packets", "out_octets", "out_packets")
CLIENT_COLUMN = "clients"
DEFAULT_MAX_REPETITIONS = 8
MAX_MAX_REPETITIONS = 48          # keeps a response under a typical 1,500-byte-ish MTU budget
#: A poll stops asking after this many requests or rows per column (agents that never end a
#: table); a table cut there is reported (`PollResult.truncated`), never silently short.
#: snmpsim answers at most 64 varbinds: 8 interfaces per request, so a WLAN controller's 3,271
#: interfaces (ruijie-m18000) take 409 requests.
MAX_REQUESTS_PER_POLL = 1024
MAX_TABLE_ROWS = 10_000
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


class SnmpAgentError(SnmpError):
    """The agent answered with an error-status (genErr, authorizationError, ...) and the
    error-index of the varbind it blames (1-based, 0 when it names none)."""

    def __init__(self, status: str, index: int):
        super().__init__(f"agent {status} at varbind {index}")
        self.status, self.index = status, index


@dataclass
class PollResult:
    """What one poll read, as plain values. Missing objects are None / absent keys."""

    sys_descr: str | None = None
    uptime_ticks: int | None = None              # sysUpTime, hundredths of a second
    sys_name: str | None = None
    client_scalar: int | str | None = None       # the platform's scalar, raw (int or text)
    client_column: dict[int, int] = field(default_factory=dict)   # row index -> value
    #: ifIndex -> column -> value (ints, and text for if_name / if_descr)
    interfaces: dict[int, dict[str, int | str]] = field(default_factory=dict)
    requests: int = 0
    #: Objects the agent did not give, and why: an error-status it answered for that object
    #: (``genErr``, ``authorizationError``...), or ``absent`` (not in its MIB view).
    missing: dict[str, str] = field(default_factory=dict)
    #: A table did not end within MAX_REQUESTS_PER_POLL requests / MAX_TABLE_ROWS rows.
    truncated: bool = False

    @property
    def answered_nothing(self) -> bool:
        """Every object was refused with an error-status: the agent answers, but nothing."""
        return bool(self.missing) and all(v != "absent" for v in self.missing.values()) and \
            self.sys_descr is None and self.uptime_ticks is None and self.sys_name is None \
            and self.client_scalar is None and not self.client_column and not self.interfaces


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
    #: Objects the agent answered an error-status for (name -> status): asked alone each poll
    #: until they answer again, so they cannot fail the shared request.
    refused: dict[str, str] = field(default_factory=dict)

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

    def learn_columns(self, result: PollResult) -> list[tuple[str, Oid]]:
        """Adapt the interface columns to what the agent has; returns the columns added.

        An interface row without an ifXTable value (ifName, HC counters) makes the plan also
        read its ifTable fallback (ifDescr, 32-bit counters) from now on; an ifXTable column
        that no row has is no longer asked for (its GETBULK rows were all beyond the table).
        """
        rows = [row for row in result.interfaces.values() if "if_type" in row]
        if not rows:
            return []
        have = {name for name, _ in self.columns}
        added: list[tuple[str, Oid]] = []
        dropped: set[str] = set()
        for column, fallbacks in _FALLBACKS.items():
            # An empty ifName names nothing; a counter of 0 is a value.
            lacking = [row for row in rows if (not row.get(column) if column == "if_name"
                                               else column not in row)]
            if not lacking:
                continue
            added += [(name, _oid(LEGACY_COLUMNS[name])) for name in fallbacks
                      if name not in have]
            if len(lacking) == len(rows):
                dropped |= set(_HC_COLUMNS if column == "in_octets" else (column,))
        if added or dropped:
            self.columns = tuple(c for c in self.columns if c[0] not in dropped) + tuple(added)
        return added


async def run_poll(plan: PollPlan, getbulk: GetBulk) -> PollResult:
    """One poll: a GETBULK, then more only for columns that did not end inside it.

    An error-status (genErr, authorizationError, ...) fails one request, not the poll: the
    objects still pending are then asked one by one, so only the ones the agent refuses are
    missing (their error-index is not trusted: snmpsim, for one, blames the first varbind of
    any GETBULK). Refused objects stay out of the shared request and are asked alone once per
    poll until they answer. Last, the ifTable fallbacks the answer showed are needed are read.
    """
    result = PollResult()
    asked = [c for c in plan.non_repeaters if c[0] not in plan.refused]
    columns = [(name, oid, oid) for name, oid in plan.columns if name not in plan.refused]
    failed = await _walk(plan, getbulk, asked, columns, result)
    if failed is not None:
        await _one_by_one(plan, getbulk, failed[1], failed[2], result)
    retry = [name for name in plan.refused if name not in result.missing]
    if retry:
        for name in retry:
            del plan.refused[name]
        await _one_by_one(plan, getbulk, [c for c in plan.non_repeaters if c[0] in retry],
                          [(n, o, o) for n, o in plan.columns if n in retry], result)
    added = plan.learn_columns(result)
    if added and not result.truncated:
        await _one_by_one(plan, getbulk, [], [(n, o, o) for n, o in added], result,
                          together=True)
    if plan.client_source is not None and plan.client_source.kind == "column_sum" \
            and not result.client_column:
        result.missing.setdefault(CLIENT_COLUMN, "absent")
    if result.answered_nothing:
        raise _refused_everything(result)
    return result


#: A column being walked: (name, column OID, the OID to continue after).
_Column = tuple[str, Oid, Oid]


async def _one_by_one(plan: PollPlan, getbulk: GetBulk, asked: list[tuple[str, Oid]],
                      columns: list[_Column], result: PollResult, *,
                      together: bool = False) -> None:
    """Ask each object alone (or, ``together``, all in one walk, alone only after an error);
    an object the agent answers an error-status for is missing and `PollPlan.refused`."""
    if together:
        failed = await _walk(plan, getbulk, asked, columns, result)
        if failed is None:
            return
        asked, columns = failed[1], failed[2]
    for single_asked, single_columns in [([c], []) for c in asked] + [([], [c]) for c in columns]:
        failed = await _walk(plan, getbulk, single_asked, single_columns, result)
        if failed is not None and failed[2]:
            # GETBULK rows run on past a column's end: the error may belong to an object
            # beyond it. Step one row at a time from where it stopped to tell.
            failed = await _walk(plan, getbulk, [], failed[2], result, step=True)
        if failed is not None:
            name = (single_asked or single_columns)[0][0]
            result.missing[name] = plan.refused[name] = failed[0]


async def _walk(plan: PollPlan, getbulk: GetBulk, asked: list[tuple[str, Oid]],
                columns: list[_Column], result: PollResult, *, step: bool = False
                ) -> tuple[str, list[tuple[str, Oid]], list[_Column]] | None:
    """GETBULKs until every column ended (or the caps). On an error-status, stops and returns
    (the status, the objects still pending) for the caller to ask one by one; else None.
    ``step``: one row per request (a GETNEXT walk), learning nothing."""
    names = [(name, oid) for name, oid, _ in columns]
    starts = [start for _, _, start in columns]
    rows_seen = 0
    repetitions = 1 if step else plan.max_repetitions
    table = bool(names) and not step
    while asked or names:
        if result.requests >= MAX_REQUESTS_PER_POLL:
            result.truncated = result.truncated or bool(names)
            break
        result.requests += 1
        try:
            varbinds = await getbulk([oid for _, oid in asked], starts,
                                     repetitions if names else 0)
        except SnmpTooBig:
            # Agents may refuse a GETBULK they cannot fit instead of truncating it.
            if repetitions <= 1:
                raise
            repetitions = plan.max_repetitions = repetitions // 2
            plan.repetitions_ceiling = repetitions
            continue
        except SnmpAgentError as exc:
            return exc.status, asked, [(n, o, s) for (n, o), s in zip(names, starts)]
        head, rows = varbinds[:len(asked)], varbinds[len(asked):]
        _read_non_repeaters(plan, asked, head, result)
        asked = []
        if not names:
            break
        names, starts, rows_seen = _read_columns(names, starts, rows, result, rows_seen)
        if rows_seen >= MAX_TABLE_ROWS:
            result.truncated = result.truncated or bool(names)
            break
        # A long table: ask for more rows per request as it goes on (up to what fits).
        repetitions = repetitions if step else min(plan.repetitions_ceiling, repetitions * 2)
    if table:
        # One spare row makes the end of the table visible inside the same response.
        plan.max_repetitions = max(1, min(plan.repetitions_ceiling, rows_seen + 1))
    return None


def _refused_everything(result: PollResult) -> SnmpError:
    statuses = sorted(set(result.missing.values()))
    if statuses == ["authorizationError"]:
        return SnmpAuthError("authorizationError for every object: the agent's access control "
                             "(VACM view) gives this user nothing to read")
    return SnmpAgentError(", ".join(statuses), 0)


#: The BER types each scalar may come as; anything else is missing as ``wrong_type`` (an
#: sysUpTime sent as text must not reach the uptime arithmetic).
_SCALAR_TYPES = {"sys_descr": (ber.OCTET_STRING,), "sys_name": (ber.OCTET_STRING,),
                 "uptime": (ber.TIMETICKS, ber.INTEGER, ber.GAUGE32, ber.COUNTER32),
                 CLIENT_COLUMN: (ber.INTEGER, ber.GAUGE32, ber.COUNTER32, ber.OCTET_STRING)}


def _read_non_repeaters(plan: PollPlan, asked: list[tuple[str, Oid]], head: list[Varbind],
                        result: PollResult) -> None:
    for (name, _), (oid, tag, value) in zip(asked, head):
        prefix = plan.scalar_oid if name == CLIENT_COLUMN else _SYSTEM_PREFIXES[name]
        if not prefix or oid[:len(prefix)] != prefix or tag in _END_OF_COLUMN:
            result.missing[name] = "absent"
        elif tag not in _SCALAR_TYPES[name]:
            result.missing[name] = "wrong_type"
        elif name == CLIENT_COLUMN:
            result.client_scalar = python_value(tag, value)
        else:
            setattr(result, name if name != "uptime" else "uptime_ticks",
                    python_value(tag, value))


def _read_columns(columns, starts, rows: list[Varbind], result: PollResult, rows_seen: int):
    """Sort GETBULK rows into columns; returns the columns that did not end, where to continue
    each one, and the most rows any column has had."""
    width = len(columns)
    ended = [False] * width
    last = list(starts)
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
        index = oid[len(prefix)]
        if name == CLIENT_COLUMN:
            if isinstance(value, int) and value >= 0:
                result.client_column[index] = value
        else:
            result.interfaces.setdefault(index, {})[name] = _present_value(tag, value)
    rows_seen = max(rows_seen, len(result.interfaces), len(result.client_column))
    pending = [columns[i] for i in range(width) if not ended[i]]
    next_starts = [last[i] for i in range(width) if not ended[i]]
    return pending, next_starts, rows_seen


__all__ = ["CLIENT_COLUMN", "DEFAULT_MAX_REPETITIONS", "INTERFACE_COLUMNS", "GetBulk",
           "LEGACY_COLUMNS", "MAX_MAX_REPETITIONS", "MAX_REQUESTS_PER_POLL", "MAX_TABLE_ROWS",
           "PollPlan", "PollResult", "SYSTEM_OIDS", "SnmpAgentError", "SnmpAuthError",
           "SnmpError", "SnmpTimeout", "SnmpTooBig", "Varbind", "python_value", "run_poll",
           "scalar_request_oid"]
