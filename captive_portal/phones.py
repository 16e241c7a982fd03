"""Phone numbers to E.164, in one place, validated with libphonenumber's metadata.

Visitors type their number every way there is: ``05XXXXXXXX``, ``5XXXXXXXX``, ``+9665...``,
``009665...``, with spaces or dashes, sometimes in Arabic-Indic (``٠٥``) or Eastern
Arabic-Indic (``۰۵``) digits. All of them become one E.164 string (``+9665XXXXXXXX``) that rate
limits and records key on; anything that is not a valid Saudi *mobile* number is refused (an
SMS code cannot reach a landline). SMS gateways write a sender as they got it from the operator
(``9665...`` without the plus, ``+9665...``, ``05...``): `sender_e164` reads those.
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


def sender_e164(raw: str) -> str | None:
    """The E.164 form of an SMS sender as a gateway reports it, or None when it is no valid
    number (a short code, an alphanumeric sender): such a sender is never answered."""
    text = "".join((raw or "").translate(_DIGITS).split())
    if not text or len(text) > 32:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.isdigit() and not text.startswith("0"):
        # Operators report international numbers without the plus; a Saudi national number
        # without its 0 (5XXXXXXXX) is nine digits and cannot be read so.
        text = "+" + text if len(text) > 9 else text
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The number as Saudis write it (``050 123 4567``) for pages and SMS."""
    return phonenumbers.format_number(phonenumbers.parse(e164, REGION), PhoneNumberFormat.NATIONAL)


__all__ = ["PhoneError", "display", "normalise_saudi_mobile", "sender_e164"]
