"""Prometheus snmp_exporter as the reference in the poll-cycle benchmark.

Why it is the yardstick: it is the common, compiled (Go) way to read the same counters from many
devices. This module writes an snmp.yml (0.21 format: modules with walk/get lists, metrics with
oid/type/indexes, version 2 with a community or version 3 with a USM user, max_repetitions)
reading the SAME objects the controller reads per AP: sysDescr/sysUpTime/sysName, the 7 interface columns and the platform's
client count; and scrapes every target over HTTP with a concurrency limit, from one asyncio
loop with keep-alive connections so the scraper itself costs little CPU.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from controller.snmp.engine import INTERFACE_COLUMNS, SYSTEM_OIDS
from netconfig.platforms import get_platform

DEFAULT_BINARY = "/usr/bin/prometheus-snmp-exporter"
_IF_INDEX = [{"labelname": "ifIndex", "type": "gauge"}]


def _string_indexed_object(instance: str) -> str:
    """The object of an instance indexed by one length-prefixed string (an extend's name)."""
    arcs = instance.split(".")
    for length in range(1, len(arcs) - 1):
        if int(arcs[-length - 1]) == length:
            return ".".join(arcs[:-length - 1])
    raise ValueError(f"{instance} has no string index")


def module_name(platform: str) -> str:
    return f"oasis_{platform}"


def v2c_auth(community: str) -> tuple[int, dict]:
    return 2, {"community": community}


def v3_auth(user: str, auth_key: str, priv_key: str, auth_proto: str = "SHA",
            priv_proto: str = "AES") -> tuple[int, dict]:
    """authPriv, as snmp_exporter 0.21 spells it (its names: MD5/SHA..., DES/AES...)."""
    return 3, {"username": user, "security_level": "authPriv", "password": auth_key,
               "auth_protocol": auth_proto, "priv_protocol": priv_proto,
               "priv_password": priv_key}


def _module(platform: str, auth: tuple[int, dict], timeout_s: float, retries: int,
            max_repetitions: int) -> dict:
    """One platform's module: the controller's per-AP objects, as gets and walks."""
    metrics = [
        {"name": "sysDescr", "oid": SYSTEM_OIDS["sys_descr"], "type": "DisplayString",
         "help": "sysDescr"},
        {"name": "sysUpTime", "oid": SYSTEM_OIDS["uptime"], "type": "gauge", "help": "sysUpTime"},
        {"name": "sysName", "oid": SYSTEM_OIDS["sys_name"], "type": "DisplayString",
         "help": "sysName"},
    ]
    get = [f"{SYSTEM_OIDS[name]}.0" for name in ("sys_descr", "uptime", "sys_name")]
    walk = list(INTERFACE_COLUMNS.values())
    for name, oid in INTERFACE_COLUMNS.items():
        kind = "gauge" if name == "if_type" else "counter"
        metrics.append({"name": f"oasis_if_{name}", "oid": oid, "type": kind, "help": name,
                        "indexes": _IF_INDEX})
    source = get_platform(platform).client_count
    if source is not None and source.kind == "scalar":
        # NET-SNMP-EXTEND nsExtendOutput1Line."clients": a get of the instance itself.
        get.append(source.oid)
        metrics.append({"name": "oasis_clients", "oid": _string_indexed_object(source.oid), "type": "DisplayString",
                        "help": "client count", "indexes": [
                            {"labelname": "extend", "type": "DisplayString"}]})
    elif source is not None:
        walk.append(source.oid)
        metrics.append({"name": "oasis_clients", "oid": source.oid, "type": "gauge",
                        "help": "client count", "indexes": _IF_INDEX})
    version, credentials = auth
    return {"walk": walk, "get": get, "metrics": metrics, "version": version,
            "max_repetitions": max_repetitions, "retries": retries,
            "timeout": f"{timeout_s:g}s", "auth": credentials}


def write_config(path: Path, platforms, auth: tuple[int, dict], *, timeout_s: float = 2.0,
                 retries: int = 1, max_repetitions: int = 25) -> Path:
    """snmp.yml with one module per platform (``auth``: `v2c_auth` or `v3_auth`). JSON is
    valid YAML, so no YAML writer is needed."""
    modules = {module_name(p): _module(p, auth, timeout_s, retries, max_repetitions)
               for p in sorted(set(platforms))}
    path.write_text(json.dumps(modules, indent=1))
    return path


@dataclass
class ScrapeOutcome:
    ok: int = 0
    failed: int = 0
    samples: int = 0
    body_bytes: int = 0
    first_error: str | None = None


async def _read_body(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response: Content-Length or chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise ValueError("response without length")
    parts = []
    for _ in range(100_000):   # bounded: a scrape is a few hundred kB at most
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    raise ValueError("too many chunks")


async def scrape_all(listen: tuple[str, int], jobs: list[tuple[str, str]], concurrency: int,
                     deadline_s: float) -> ScrapeOutcome:
    """GET /snmp?module=..&target=.. for every (module, target), ``concurrency`` at a time."""
    outcome = ScrapeOutcome()
    queue = iter(jobs)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(*listen)
        try:
            for module, target in queue:
                query = urlencode({"module": module, "target": target})
                writer.write(f"GET /snmp?{query} HTTP/1.1\r\nHost: {listen[0]}\r\n\r\n".encode())
                status, body = await _read_body(reader)
                outcome.body_bytes += len(body)
                if status == 200 and b"oasis_if_in_octets{" in body:
                    outcome.ok += 1
                    outcome.samples += sum(1 for line in body.split(b"\n")
                                           if line and not line.startswith(b"#"))
                else:
                    outcome.failed += 1
                    outcome.first_error = outcome.first_error or body[:200].decode("utf-8",
                                                                                    "replace")
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), deadline_s)
    return outcome


def scrape_cycle(listen: tuple[str, int], jobs, concurrency: int,
                 deadline_s: float) -> tuple[float, ScrapeOutcome]:
    started = time.perf_counter()
    outcome = asyncio.run(scrape_all(listen, jobs, concurrency, deadline_s))
    return time.perf_counter() - started, outcome


__all__ = ["DEFAULT_BINARY", "ScrapeOutcome", "module_name", "scrape_cycle", "v2c_auth", "v3_auth",
           "write_config"]
