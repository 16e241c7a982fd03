"""The contracts between the parts of Oasis Edge: MQTT topics, schema ids, JSON Schemas.

Every topic (relative to the configured prefix) and every payload ``schema`` id is defined once,
in the modules of this package; the JSON Schemas are package data in ``schemas/`` (the very
files ``docs/schemas/`` shows). `load_schema` reads one by file name.

- `core.contracts.gateway`: portal <-> park gateway (commands, acks, accounting, session ends).
- `core.contracts.reports`: 940 reports <-> the municipality's back office.
- `core.contracts.backhaul`: branch agents -> controller (state, events).
- `core.contracts.monitoring`: controller announcements (events, alerts, inventory, adoption).
- `core.contracts.signature`: the gateway's signed redirect to the portal.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def _schema_text(file_name: str) -> str:
    return resources.files(__name__).joinpath("schemas", file_name).read_text(encoding="utf-8")


def load_schema(file_name: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/<file_name>`` (a fresh copy: callers may change it)."""
    return json.loads(_schema_text(file_name))


def schema_files() -> list[str]:
    """Every schema file shipped, by name."""
    return sorted(entry.name for entry in resources.files(__name__).joinpath("schemas").iterdir()
                  if entry.name.endswith(".json"))


__all__ = ["load_schema", "schema_files"]
