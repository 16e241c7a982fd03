"""Validators for the published JSON Schemas (docs/schemas/, the files `core.contracts` ships),
for the tests that check what really crosses MQTT against them."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def validator(name: str, *, formats: bool = False) -> Draft202012Validator:
    """The validator of docs/schemas/``name``.json, once the schema itself is found valid.

    ``formats`` also checks the ``format`` keywords (date-time, uri, ...), which JSON Schema
    leaves as annotations unless asked.
    """
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    if formats:
        return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return Draft202012Validator(schema)
