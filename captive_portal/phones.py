"""Saudi mobile numbers, validated with libphonenumber's metadata (``phonenumbers``).

Visitors type their number every way there is: ``05XXXXXXXX``, ``5XXXXXXXX``, ``+9665...``,
``009665...``, with spaces or dashes, sometimes in Arabic-Indic digits. All of them become one
E.164 string (``+9665XXXXXXXX``) that rate limits and records key on; anything that is not a
valid Saudi *mobile* number is refused (an SMS code cannot reach a landline).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

REGION = "SA"
#: Arabic-Indic and Eastern Arabic-Indic digits typed on Arabic keyboards.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class PhoneError(ValueError):
    """Not a Saudi mobile number."""


def normalise_saudi_mobile(raw: str) -> str:
    """E.164 form of a Saudi mobile number, or PhoneError."""
    text = (raw or "").translate(_DIGITS).strip()
    if not text or len(text) > 32:
        raise PhoneError(raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        raise PhoneError(raw) from None
    if (phonenumbers.region_code_for_number(number) != REGION
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) != PhoneNumberType.MOBILE):
        raise PhoneError(raw)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The number as Saudis write it (``050 123 4567``) for pages and SMS."""
    return phonenumbers.format_number(phonenumbers.parse(e164, REGION), PhoneNumberFormat.NATIONAL)


__all__ = ["PhoneError", "display", "normalise_saudi_mobile"]
