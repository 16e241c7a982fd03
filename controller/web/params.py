"""Numbers from addresses and query strings, and parsed JSON, bounded before they reach the
store.

SQLite keeps integers in 64 bits, and a Python int beyond that makes the driver raise
OverflowError: left alone, ``/config/jobs/99999999999999999999`` was a 500. Path parts
declared ``<int:...>`` use `StoreInt`, which no longer matches such a number (a 404 like any
other unknown id); a page's integer query parameter is read with `page_int_arg`, which refuses
anything else with a 400 page naming the parameter (the API has `api.common.int_arg`, a 422 in
JSON). `check_json_content` refuses what JSON's syntax allows but the store cannot keep.
"""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map

#: The largest integer SQLite stores.
STORE_INT_MAX = 2 ** 63 - 1


class StoreInt(IntegerConverter):
    """``<int:...>`` limited to what the store can hold (werkzeug's has no upper bound)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = STORE_INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, STORE_INT_MAX if max is None else max, signed)


def page_int_arg(name: str, lo: int, hi: int) -> int | None:
    """A page's integer query parameter within [lo, hi]; None when absent or empty; a 400 page
    saying what is wrong otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    digits = raw[1:] if raw.startswith("-") else raw
    # int() alone would also take " 7", "1_000" and Arabic-Indic digits, and any length.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 \
            or not lo <= int(raw) <= hi:
        abort(400, description=f"'{name}' must be a whole number from {lo} to {hi}.")
    return int(raw)


#: Objects and arrays inside one another beyond this are refused: the deepest body any route
#: takes is a provisioning variable layer (radios.2g.channel, ssids[0].ssid), far below it.
MAX_NESTING = 32


class JsonContentError(ValueError):
    """Parsed JSON that must not go further: ``status`` 400 or 422, a ``code``, the top-level
    ``field`` it sits under (None when it is a key)."""

    def __init__(self, status: int, code: str, message: str, field: str | None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def check_json_content(data: object, max_depth: int = MAX_NESTING) -> None:
    """Refuse a lone UTF-16 surrogate anywhere in parsed JSON, keys included (400: JSON's
    ``"\\ud800"`` is valid syntax but no character, and the store could not encode it), and
    objects and arrays nested deeper than ``max_depth`` (422).

    Walked with a list, not recursion: the JSON parser allows nesting as deep as Python's own
    recursion limit, and a recursive walk of such a document would overflow it.
    """
    pending: list[tuple[object, int, str | None]] = [(data, 0, None)]
    while pending:
        item, depth, field = pending.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in item):
                raise JsonContentError(400, "bad_json", "a lone UTF-16 surrogate escape "
                                       "(\\ud800-\\udfff) is not a character", field)
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise JsonContentError(422, "invalid_body",
                                       f"nested deeper than {max_depth} levels", field)
            entries = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, value in entries:
                under = field if depth else key  # errors name the top-level field
                if key is not None:
                    pending.append((key, depth + 1, None))
                pending.append((value, depth + 1, under))


__all__ = ["MAX_NESTING", "STORE_INT_MAX", "JsonContentError", "StoreInt", "check_json_content",
           "page_int_arg"]
