"""What ``/healthz`` answers, the same way in the admin app and the portal.

A health answer is a list of named checks: each MQTT link of the process (``mqtt:<client id>``)
and the 940 forwarder. The status is 200 when every check passes and 503 when one fails, so a
monitor needs only the status code; the body says which check failed and why. A caller that is
not trusted (see `answer`) gets the names and verdicts only: broker addresses, error texts and
backlogs are for operators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.mqtt import LinkHealth

OK, UNHEALTHY = 200, 503


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


def link_check(health: LinkHealth) -> Check:
    """A link passes while it is connected to its broker."""
    return Check(f"mqtt:{health.client_id}", health.connected, health.as_dict())


def answer(checks: Iterable[Check], *, detailed: bool) -> tuple[dict[str, Any], int]:
    """The JSON body and status code for ``checks``; ``detailed`` adds each check's detail."""
    checks = list(checks)
    healthy = all(check.ok for check in checks)
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unhealthy",
        "checks": {check.name: ({"ok": check.ok, **check.detail} if detailed
                                else {"ok": check.ok}) for check in checks}}
    return body, OK if healthy else UNHEALTHY


__all__ = ["OK", "UNHEALTHY", "Check", "answer", "link_check"]
