"""How a phone will see a text: GSM-7 or UCS-2, and in how many SMS segments.

An SMS carries 140 octets. Text that fits the GSM 03.38 default alphabet (3GPP TS 23.038
§6.2.1) travels as 7-bit septets: 160 in one SMS, 153 per part once a concatenation header
(UDH, 6 octets) takes its room. A character of the extension table (``{ } [ ] ~ \\ | ^ €`` and
form feed) costs two septets (an escape and the character). Anything else (Arabic, most
emoji) makes the whole message UCS-2: 70 UTF-16 code units in one SMS, 67 per part. A
character outside the Basic Multilingual Plane counts two units (a surrogate pair), as gateways
send it, and a split never cuts a pair or an escape in half.

Written here rather than taken from a library: ``gsm0338`` (PyPI) is a codec only (no
segments), and ``smpplib.gsm`` (locked for the SMPP driver) splits by bytes with its own FIXMEs
about breaking escapes and multi-unit characters, and its table puts a backquote where 23.038
has ``§``. The two tables below are the standard's; nothing else here is more than counting.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Encoding = Literal["gsm7", "ucs2"]
GSM7: Encoding = "gsm7"
UCS2: Encoding = "ucs2"

#: 3GPP TS 23.038 default alphabet, code point order (0x1B, the escape, is left out).
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: The extension table's characters (each sent as ESC + one septet).
GSM7_EXTENSION = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)

#: (one SMS, one part of a concatenated SMS), in septets (GSM-7) or UTF-16 units (UCS-2).
LIMITS: dict[str, tuple[int, int]] = {GSM7: (160, 153), UCS2: (70, 67)}
#: Parts a concatenated SMS can have (the UDH counts them in one octet).
MAX_PARTS = 255


class Segmentation(NamedTuple):
    encoding: Encoding
    units: int       # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int    # SMS a phone receives (0 for an empty text)


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the default alphabet or its extension."""
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def encoding_of(text: str) -> Encoding:
    return GSM7 if is_gsm7(text) else UCS2


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding == GSM7:
        return 2 if ch in _EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def units(text: str, encoding: Encoding | None = None) -> int:
    encoding = encoding or encoding_of(text)
    return sum(_cost(ch, encoding) for ch in text)


def segment(text: str) -> Segmentation:
    """The encoding ``text`` needs and the number of SMS it makes."""
    encoding = encoding_of(text)
    count = units(text, encoding)
    single = LIMITS[encoding][0]
    if count == 0:
        return Segmentation(encoding, 0, 0)
    if count <= single:
        return Segmentation(encoding, count, 1)
    return Segmentation(encoding, count, len(split(text, encoding)))


def split(text: str, encoding: Encoding | None = None) -> list[str]:
    """The parts a concatenated SMS of ``text`` carries (one part when it fits in one SMS).

    Characters are never cut: an extension character or a surrogate pair that would straddle
    a boundary starts the next part, so a part may hold one unit less than the limit.
    """
    encoding = encoding or encoding_of(text)
    single, per_part = LIMITS[encoding]
    if units(text, encoding) <= single:
        return [text] if text else []
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        cost = _cost(ch, encoding)
        if used + cost > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    if current:
        parts.append("".join(current))
    return parts


def encode_gsm7(text: str) -> bytes:
    """``text`` as unpacked septets, one per octet (SMPP ``data_coding`` 0 and most gateways'
    GSM "default alphabet"); ValueError for a character outside the alphabet."""
    out = bytearray()
    for ch in text:
        index = GSM7_BASIC.find(ch)
        if index >= 0:
            out.append(index if index < 0x1B else index + 1)  # the escape sits at 0x1B
            continue
        if ch not in _EXTENSION:
            raise ValueError(f"not in the GSM 03.38 alphabet: {ch!r}")
        out += bytes((0x1B, _EXTENSION_CODES[ch]))
    return bytes(out)


_EXTENSION_CODES = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                    "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}


__all__ = ["GSM7", "GSM7_BASIC", "GSM7_EXTENSION", "LIMITS", "MAX_PARTS", "UCS2", "Encoding",
           "Segmentation", "encode_gsm7", "encoding_of", "is_gsm7", "segment", "split", "units"]
