"""Refusals from the domain layers (`core.errors.CodedError`: a code, an English message and the
field at fault) as the admin pages show them, in the reader's language.

The domain speaks English (the CLI and the API show its message as it is); a page in Arabic says
what went wrong from the refusal's code and field, e.g. "اسم المستخدم: قيمة غير صالحة", and keeps
the English detail only when the reader reads English.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import CodedError

#: What each refusal code means, for a reader of another language than the domain's.
CODE_TEXT = {
    "invalid_field": _l("the value is not valid"),
    "missing_field": _l("this is required"),
    "unknown_field": _l("this field is not known"),
    "duplicate": _l("already exists"),
    "not_found": _l("not found"),
    "in_use": _l("still in use, remove what uses it first"),
    "weak_password": _l("the password must be at least 10 characters"),
    "invalid_ip": _l("not a valid IP address"),
    "invalid_mac": _l("not a valid MAC address"),
    "unknown_site": _l("no such site"),
    "unknown_platform": _l("no such platform"),
    "unknown_version": _l("no such version"),
    "unknown_target": _l("no such target"),
    "not_pending": _l("not waiting for adoption"),
    "not_provisionable": _l("this device cannot be configured by the controller"),
    "no_pending_key": _l("no host key is waiting to be accepted"),
    "no_backup": _l("no configuration backup yet"),
    "masked_secret": _l("a hidden secret cannot be saved as it is; type the value again"),
    "token_expired": _l("the token has expired; ask an admin for a new one"),
    "forbidden": _l("your role does not allow this"),
}

#: Field names as the forms label them.
FIELD_TEXT = {
    "username": _l("Username"), "password": _l("Password"), "role": _l("Role"),
    "locale": _l("Language"), "name": _l("Name"), "name_en": _l("Name (English)"),
    "name_ar": _l("Name (Arabic)"), "slug": _l("Short name"), "site": _l("Site"),
    "mac": _l("MAC address"), "mgmt_ip": _l("Management IP"), "platform": _l("Platform"),
    "version": _l("Version"), "lat": _l("Latitude"), "lon": _l("Longitude"),
    "token": _l("API token"), "expires_in": _l("Expires in"), "target": _l("Target"),
    "snmp_version": _l("SNMP version"), "snmp_engine_id": _l("SNMP engine ID"),
    "snmp_auth_proto": _l("SNMP authentication"), "snmp_priv_proto": _l("SNMP privacy"),
    "snmp_auth_key": _l("SNMP authentication key"), "snmp_priv_key": _l("SNMP privacy key"),
    "snmp_context": _l("SNMP context"), "fingerprint": _l("Host key fingerprint"),
    "kind": _l("Kind"), "scope": _l("Scope"), "text": _l("Text"),
}


def refusal_text(exc: CodedError) -> str:
    """``exc`` for the page: its own message in English, its meaning in another language."""
    if str(get_locale() or "en") == "en":
        return exc.message
    meaning = str(CODE_TEXT.get(exc.code) or _("the request was refused"))
    field = FIELD_TEXT.get(exc.field or "")
    return _("%(field)s: %(meaning)s", field=field, meaning=meaning) if field else meaning


__all__ = ["CODE_TEXT", "FIELD_TEXT", "refusal_text"]
