"""Keeping the agent small on a gateway box (glibc's allocator, through ctypes).

Each thread that allocates gets its own malloc arena by default (up to 8 per core), and memory
freed after a large listing of the sets stays mapped. Capping the arenas and trimming the heap
after each sweep keeps the resident size close to what the agent really holds (the book of
clients), which is what matters next to dnsmasq on a small box. Elsewhere than glibc these are
no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def limit_malloc_arenas(count: int = 2, trim_threshold: int = 1 << 20,
                        mmap_threshold: int = 256 << 10) -> bool:
    """Cap the arenas and fix glibc's thresholds.

    Left dynamic, glibc raises both thresholds (up to 32 MB) each time a large block is freed,
    after which a burst of logins leaves its freed memory mapped until the next trim. Fixed,
    blocks over ``mmap_threshold`` go back to the system when freed, and a free heap top over
    ``trim_threshold`` is returned at once.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return all(bool(libc.mallopt(option, value)) for option, value in (
        (_M_ARENA_MAX, count), (_M_TRIM_THRESHOLD, trim_threshold),
        (_M_MMAP_THRESHOLD, mmap_threshold)))


def release_free_memory() -> bool:
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    return bool(libc.malloc_trim(0))


__all__ = ["limit_malloc_arenas", "release_free_memory"]
