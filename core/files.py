"""Files that hold secrets or personal data are readable by their owner only (mode 0600).

The store holds phone numbers, MACs and password hashes; the key files hold what decrypts and
signs the rest. A file is created with mode 0600 from the start (never written first and
narrowed after), and one found open to its group or to others (made by an older release, or
copied with ``cp``) is narrowed to 0600 with a warning: whatever read it meanwhile may hold a
copy, which the warning says.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o600


def create_private(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` to a new file at ``path`` with mode 0600 (its folder made if missing).

    Returns False, writing nothing, when the file exists already (another process created it
    first): the caller reads theirs, whole. The temporary file is 0600 from its creation, so no
    other user can open it before it is in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: a process that finds the
    # file reads all of it, never the empty file between a create and its write (two portal
    # workers starting together once read an empty secret key that way).
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def touch_private(path: str | os.PathLike) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then `ensure_private` it)."""
    path = Path(path)
    if path.exists():
        ensure_private(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE))


def ensure_private(path: str | os.PathLike) -> bool:
    """Narrow ``path`` to 0600 when its group or others may read or write it.

    Returns True when the mode had to change. A file this process cannot chmod (another owner)
    is left as it is, with the warning: refusing to start would not make it private either.
    """
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    try:
        os.chmod(path, PRIVATE_MODE)
    except OSError as exc:
        log.warning("%s is readable by others (mode %o) and cannot be made private: %s; "
                    "chmod 600 it", path, mode, exc)
        return False
    log.warning("%s was readable by others (mode %o); now 600. Whoever could read it may keep a "
                "copy: rotate what it holds if that matters", path, mode)
    return True


__all__ = ["PRIVATE_MODE", "create_private", "ensure_private", "touch_private"]
