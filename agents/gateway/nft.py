"""The nftables adapter: the only module of the gateway agent that talks to nftables.

Changes (install the table, add or delete set elements on every login and logout) go through
libnftables in-process: one transaction is a C call of a fraction of a millisecond, where
spawning ``nft`` would cost several, and the kernel applies each script atomically. Listings
of the session sets (accounting, thousands of elements) run ``nft`` as a child process instead,
so the parse buffers of a large listing never stay in the agent's memory.

When libnftables cannot be loaded the adapter falls back to ``nft -f -`` for changes too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

log = logging.getLogger(__name__)

NFT = shutil.which("nft") or "/usr/sbin/nft"

#: One element of a counted set in ``nft list set`` text output.
_ELEMENT = re.compile(
    r"(?P<key>(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5} \. )?\d{1,3}(?:\.\d{1,3}){3})"
    r" counter packets (?P<packets>\d+) bytes (?P<bytes>\d+)"
    r"(?: timeout \S+?)?(?: expires (?P<expires>[0-9hdms]+))?(?=[,\s}])")
_DURATION = re.compile(r"(\d+)(d|h|ms|m|s)")
_UNIT_S = MappingProxyType({"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001})


class NftError(RuntimeError):
    """nftables refused a script; the message carries nft's own error text."""


@dataclass(frozen=True, slots=True)
class CountedElement:
    """A set element with its counter: key is ``mac . ip`` or ``ip`` as nft prints it."""

    key: str
    packets: int
    bytes: int
    #: nft's ``expires`` text (e.g. ``59m58s60ms``); parsed only when asked for (a sweep
    #: reads tens of thousands of elements and needs their bytes only).
    expires: str | None = None

    @property
    def expires_s(self) -> float | None:
        """Seconds until the kernel drops the element (None if it has no timeout)."""
        return parse_duration(self.expires) if self.expires else None


def parse_duration(text: str) -> float:
    """nft's ``1h2m3s500ms`` as seconds."""
    return sum(int(n) * _UNIT_S[unit] for n, unit in _DURATION.findall(text))


def parse_counted_elements(listing: str) -> Iterator[CountedElement]:
    """The counted elements of an ``nft list set`` text listing."""
    for match in _ELEMENT.finditer(listing):
        key, packets, count, expires = match.group("key", "packets", "bytes", "expires")
        yield CountedElement(key, int(packets), int(count), expires)


class _LibNftables:
    """Thin ctypes binding of libnftables: a context, run a buffer, read the error buffer."""

    def __init__(self, path: str):
        lib = ctypes.CDLL(path)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        self._lib = lib
        self._ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)

    def run(self, script: str) -> str:
        rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
        output = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode()
        error = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode()
        if rc != 0:
            raise NftError(error.strip() or f"nft failed with {rc}")
        return output

    def close(self) -> None:
        if self._ctx:
            self._lib.nft_ctx_free(self._ctx)
            self._ctx = None


class Nftables:
    """Run nft scripts (atomically) and list sets; safe to share between threads."""

    def __init__(self, *, use_library: bool = True):
        self._lock = threading.Lock()
        self._lib: _LibNftables | None = None
        if use_library:
            path = ctypes.util.find_library("nftables") or "libnftables.so.1"
            try:
                self._lib = _LibNftables(path)
            except OSError as exc:
                log.warning("libnftables not available (%s); using %s", exc, NFT)

    @property
    def in_process(self) -> bool:
        return self._lib is not None

    def run(self, script: str) -> str:
        """Apply ``script`` as one transaction; NftError (nothing applied) if nft refuses it."""
        with self._lock:
            if self._lib is not None:
                return self._lib.run(script)
        return self._run_process(["-f", "-"], script)

    def list_set(self, family: str, table: str, name: str) -> str:
        """The text listing of one set (a child process: see the module docstring)."""
        return self._run_process(["list", "set", family, table, name])

    def counted_elements(self, family: str, table: str, name: str) -> Iterator[CountedElement]:
        """The elements of a counted set, parsed line by line as ``nft`` prints them, so a
        listing of tens of thousands of clients is never held whole in memory."""
        with subprocess.Popen([NFT, "list", "set", family, table, name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            for line in process.stdout:
                yield from parse_counted_elements(line)
            error = process.stderr.read() if process.stderr else ""
        if process.returncode != 0:
            raise NftError(error.strip() or f"nft list set {table} {name} failed")

    def table_exists(self, family: str, table: str) -> bool:
        result = subprocess.run([NFT, "list", "table", family, table], capture_output=True,
                                text=True, check=False)
        return result.returncode == 0

    def list_table(self, family: str, table: str) -> str:
        return self._run_process(["list", "table", family, table])

    @staticmethod
    def _run_process(args: list[str], stdin: str | None = None) -> str:
        result = subprocess.run([NFT, *args], input=stdin, capture_output=True, text=True,
                                check=False, timeout=60)
        if result.returncode != 0:
            raise NftError(result.stderr.strip() or f"nft {' '.join(args)} failed")
        return result.stdout

    def close(self) -> None:
        with self._lock:
            if self._lib is not None:
                self._lib.close()
                self._lib = None


__all__ = ["CountedElement", "NftError", "Nftables", "parse_counted_elements", "parse_duration"]
