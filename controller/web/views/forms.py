"""Helpers shared by the pages that edit the inventory through HTML forms.

Forms post plain fields; the inventory layer validates them and its refusal names the field, which
the page shows next to that input. Secrets are never put back into a form.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from controller.web.refusals import refusal_text
from core.inventory import SECRET_FIELDS, problems_of


def submitted(fields: Iterable[str], *, drop_blank: Iterable[str] = ()) -> dict[str, str]:
    """The posted values of ``fields`` (stripped); blank ones in ``drop_blank`` are left out."""
    blank_dropped = set(drop_blank)
    values = {}
    for name in fields:
        value = request.form.get(name, "").strip()
        if value == "" and name in blank_dropped:
            continue
        values[name] = value
    return values


def errors_for(exc) -> dict[str, str]:
    """A refusal as {field: message}, every problem it carries (a form shows them all at once,
    each beside its input); ``_form`` for one that names no field."""
    errors: dict[str, str] = {}
    for problem in problems_of(exc):
        errors.setdefault(problem.field or "_form", refusal_text(problem))
    return errors


def without_secrets(values: dict) -> dict:
    """What may be written back into a re-shown form."""
    return {k: v for k, v in values.items() if k not in SECRET_FIELDS}
