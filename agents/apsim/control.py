"""Control of a running simulator: JSON lines over TCP on loopback.

One request per line, one reply per line::

    -> {"op": "link-down", "ap": "AW-AP-01", "ifindex": 3}
    <- {"ok": true, "ap": {...state...}}
    <- {"ok": false, "error": "no simulated AP named 'AW-AP-99' ..."}

Operations: ``reboot``, ``link-down``/``link-up`` (``ifindex``), ``unreachable``, ``reachable``,
``trap`` (``kind``: warmStart | authenticationFailure), ``wrap-soon`` (optional ``headroom``
octets), ``status`` (one AP), ``inventory``, ``stats``. The endpoint listens on loopback only:
anyone who can reach it can reboot simulated APs, which is the point in a lab and nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket

from agents.apsim.simulator import ApSimulator

DEFAULT_CONTROL = ("127.0.0.1", 1163)
#: Another control endpoint (HOST:PORT) for `oasis apsim` and the demo, when 1163 is taken.
CONTROL_ENV = "OASIS_APSIM_CONTROL"


def control_address() -> str:
    """The control endpoint as HOST:PORT: ``$OASIS_APSIM_CONTROL``, else the default."""
    return os.environ.get(CONTROL_ENV) or f"{DEFAULT_CONTROL[0]}:{DEFAULT_CONTROL[1]}"


class ControlError(RuntimeError):
    """The simulator refused a control request (or could not be reached)."""


def execute(simulator: ApSimulator, request: dict) -> dict:
    """Apply one control request; raises ValueError with a message for the operator."""
    op = request.get("op")
    name = request.get("ap", "")
    if op == "reboot":
        return {"ap": simulator.reboot(name)}
    if op in ("link-down", "link-up"):
        if_index = request.get("ifindex")
        if not isinstance(if_index, int):
            raise ValueError(f"{op} needs an integer 'ifindex'")
        return {"ap": simulator.set_link(name, if_index, op == "link-up")}
    if op in ("unreachable", "reachable"):
        return {"ap": simulator.set_reachable(name, op == "reachable")}
    if op == "trap":
        return {"sent": simulator.trap(name, str(request.get("kind", "")))}
    if op == "wrap-soon":
        return {"ap": simulator.wrap_soon(name, request.get("headroom"))}
    if op == "status":
        return {"ap": simulator.describe(name)}
    if op == "inventory":
        return {"aps": [p.as_dict() for p in simulator.plans]}
    if op == "stats":
        return {"stats": simulator.stats.as_dict(), "aps": len(simulator.aps),
                "range": simulator.address_range}
    raise ValueError(f"unknown op {op!r}; known: reboot, link-down, link-up, unreachable, "
                     "reachable, trap, wrap-soon, status, inventory, stats")


async def serve_control(simulator: ApSimulator, host: str, port: int) -> asyncio.AbstractServer:
    """Start the control endpoint on the simulator's loop (requests run on that loop)."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object")
                    reply = {"ok": True, **execute(simulator, request)}
                except (ValueError, json.JSONDecodeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(session, host, port)


def send_command(op: str, control: tuple[str, int] = DEFAULT_CONTROL, timeout: float = 5.0,
                 **args) -> dict:
    """One request to a running simulator; returns the reply or raises ControlError."""
    payload = json.dumps({"op": op, **args}).encode() + b"\n"
    try:
        with socket.create_connection(control, timeout=timeout) as conn:
            conn.sendall(payload)
            with conn.makefile("rb") as stream:
                line = stream.readline()
    except OSError as exc:
        raise ControlError(f"cannot reach the simulator's control endpoint at "
                           f"{control[0]}:{control[1]}: {exc}") from exc
    if not line:
        raise ControlError("the simulator closed the control connection without a reply")
    reply = json.loads(line)
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "refused"))
    return reply
