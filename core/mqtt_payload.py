"""Reading an MQTT payload defensively: what the link hands its handlers, or `PayloadRejected`.

Kept apart from `core.mqtt` (and from paho): a payload is bytes any publisher chose, and every
way decoding them can go wrong ends here as one exception the link counts and drops.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Inbound payloads above this size are dropped unread: parsing costs CPU and memory in every
#: subscriber, and our largest message (a gateway's accounting chunk of 1,000 clients) is
#: about 150 KB.
MAX_PAYLOAD_BYTES = 1 << 20
#: The deepest nesting of arrays and objects a payload may have; ours nest three levels.
MAX_DEPTH = 32

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadRejected(ValueError):
    """A payload the link does not hand to any handler (too big, not UTF-8, not JSON, too deep)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_payload(data: bytes | bytearray, *, max_bytes: int = MAX_PAYLOAD_BYTES,
                   max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``data``, or PayloadRejected (whatever went wrong while decoding).

    Strict JSON: ``NaN`` and ``Infinity`` are refused. Python's own limits apply as well: an
    integer of more than 4,300 digits, or nesting beyond the recursion limit, is an error.
    """
    if len(data) > max_bytes:
        raise PayloadRejected(f"{len(data)} bytes, over the {max_bytes}-byte limit")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except Exception as exc:  # RecursionError and ValueError as well as JSONDecodeError
        raise PayloadRejected(f"not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    # Counting brackets is cheap and bounds the depth; walk the value only when it could be deep.
    if data.count(b"[") + data.count(b"{") > max_depth and _deeper_than(value, max_depth):
        raise PayloadRejected(f"nested deeper than {max_depth} levels")
    # JSON may escape half a surrogate pair ("\ud800"), which no UTF-8 text (a store, a log
    # line, a reply) can hold; look closer only when the text has such an escape.
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadRejected("a lone surrogate (\\ud800-\\udfff) in a string") from None
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


__all__ = ["MAX_DEPTH", "MAX_PAYLOAD_BYTES", "PayloadRejected", "decode_payload"]
