"""The session record portal and gateway share (`SessionGrant`) and the commands built from it,
held to the published JSON Schema (gateway-command.json)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from core.contracts import load_schema
from core.contracts.gateway import (
    COMMAND_SCHEMA,
    SessionGrant,
    allow_command,
    deny_command,
)
from tests.schemas import validator

GRANT = SessionGrant(session_id=7, mac="02:00:00:00:00:07", ip="10.77.0.107",
                     expires_at=1_800_000_000.5, quota_bytes=500_000_000, idle_timeout_s=900,
                     rate_up_kbps=1024, rate_down_kbps=4096)
ENVELOPE = {"schema", "sent_at", "command_id", "action", "valid_until"}


def _published(command: dict) -> dict:
    """The command as `MqttLink.publish_json` sends it."""
    return {"schema": COMMAND_SCHEMA, "sent_at": "2026-12-05T10:00:00Z", **command}


def test_the_grant_is_exactly_what_the_schema_requires_of_an_allow():
    schema = load_schema("gateway-command.json")
    allow_requires = set(schema["required"]) | set(schema["allOf"][0]["then"]["required"])
    assert {f.name for f in fields(SessionGrant)} == allow_requires - ENVELOPE
    assert set(GRANT.to_payload()) <= set(schema["properties"])


def test_allow_and_deny_commands_match_the_schema():
    commands = validator("gateway-command", formats=True)
    commands.validate(_published(allow_command("c1", GRANT, 1_800_000_000.0)))
    commands.validate(_published(deny_command("c2", 7, GRANT.mac, GRANT.ip, "logout",
                                              1_800_000_000.0)))


def test_the_gateway_reads_back_what_the_portal_wrote():
    command = allow_command("c1", GRANT, 1_800_000_000.0)
    assert SessionGrant.from_payload(command) == GRANT
    assert SessionGrant.from_payload({**command, "mac": "02-00-00-00-00-07"}) == GRANT


@pytest.mark.parametrize("change", [{"mac": "x"}, {"ip": "10.77.0.999"}, {"ip": "::1"},
                                    {"quota_bytes": "lots"}, {"session_id": None}])
def test_a_grant_that_is_not_one_is_refused(change):
    with pytest.raises((TypeError, ValueError)):
        SessionGrant.from_payload({**GRANT.to_payload(), **change})
    with pytest.raises(KeyError):
        SessionGrant.from_payload({"mac": GRANT.mac})
