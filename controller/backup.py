"""`oasis backup` and `oasis restore`: the whole state of a controller in one archive.

What a controller keeps is the store (every table, the 940 reports' photos included: they are
rows of ``report_photos``, not files), the key files its config names (``store.key_file``, which
decrypts device passwords, SNMPv3 keys and gateway keys; ``portal.secret_key_file``;
``provisioning.ssh_key_file`` when set) and the config file itself. There is no other state
on disk: report exports are built on request.

The store is copied with SQLite's online backup API (`sqlite3.Connection.backup`), in one step
under one read transaction, so the copy is the database as it was at one instant while the
portal, the forwarder and the poller go on writing (WAL readers do not block writers). The copy
is checked (``PRAGMA quick_check``) before it is archived.

The archive is a gzipped tar: ``manifest.json`` first (format, when, which host, schema
versions, and for each file its config key, size and SHA-256), then the files. The archive and
every member are mode 0600: it holds the key that decrypts the secrets in the store beside it.

`restore` checks the manifest and every checksum before it writes anything, refuses to replace
an existing store or a different key file unless told (``force``), writes the store through the
backup API (a live WAL database is replaced page by page, never half-copied), opens it (an
archive from an older release is migrated there) and proves the restored key decrypts the
APs' secrets. Docs: docs/operations.md (backups and the restore drill).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import socket
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from core import inventory
from core.config import Config, load_config
from core.files import PRIVATE_MODE, ensure_private, touch_private
from core.secrets import SecretBox
from core.store import Store, iso

FORMAT = "oasis-backup/1"
MANIFEST = "manifest.json"
#: The config keys whose files a backup carries beside the store (those set in the config).
KEY_FILES = ("store.key_file", "portal.secret_key_file", "provisioning.ssh_key_file")
STORE_KEY = "store.path"
CONFIG_KEY = "config"


class BackupError(RuntimeError):
    """A backup cannot be made, or an archive cannot be restored; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One file in the archive: its config key, its name in the archive, size and SHA-256."""

    key: str
    name: str
    bytes: int
    sha256: str
    source: str = ""


@dataclass(frozen=True)
class Manifest:
    format: str
    created_at: str
    host: str
    version: str
    schema_versions: dict[str, int]
    files: list[Entry]

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError(f"not an Oasis Edge backup of format {FORMAT} "
                                  f"(manifest says {raw.get('format')!r})")
            files = [Entry(**entry) for entry in raw["files"]]
            return cls(raw["format"], raw["created_at"], raw["host"], raw["version"],
                       dict(raw["schema_versions"]), files)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the manifest cannot be read: {exc}") from None


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    config: Path
    written: dict[str, Path]
    schema_versions: dict[str, int]
    #: APs whose secrets were decrypted with the restored key.
    aps_checked: int


def _package_version() -> str:
    try:
        return version("oasis-edge")
    except PackageNotFoundError:
        return "unknown"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _configured(config: Config, key: str) -> str:
    section, _, field = key.partition(".")
    sections = config.sections()
    return str(getattr(sections[section], field, "") or "") if section in sections else ""


def copy_store(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """A consistent copy of the SQLite database ``source`` into ``target`` (the backup API),
    as a single file (rollback journal, not WAL), checked before it is returned."""
    touch_private(target)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # pages=-1: every page in one step, one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in dst.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BackupError(f"the copy of {source} fails SQLite's check: {problems[:3]}")
    finally:
        dst.close()
        src.close()


def create(config: Config, dest: str | os.PathLike) -> Manifest:
    """Write the backup archive ``dest`` (mode 0600; replaced whole, never half-written)."""
    dest = Path(dest)
    if config.store.url:
        raise BackupError("the store is on PostgreSQL ([store] url): back it up with pg_dump or"
                          " the cluster's own backups (docs/scale-out.md); `oasis backup`"
                          " archives SQLite stores")
    store_path = config.resolve_path(config.store.path)
    if not store_path.exists():
        raise BackupError(f"store {store_path} does not exist: nothing to back up")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".oasis-backup-", dir=dest.parent) as staging:
        copy = Path(staging) / "oasis.db"
        copy_store(store_path, copy)
        versions = _schema_versions(copy)
        files: list[tuple[Entry, Path]] = [(_entry(STORE_KEY, "store/oasis.db", copy,
                                                   store_path), copy)]
        for key in KEY_FILES:
            value = _configured(config, key)
            if not value:
                continue
            path = config.resolve_path(value)
            if not path.exists():
                if key == "store.key_file":  # without it the store's secrets are lost
                    raise BackupError(f"{key} = {value!r}: {path} does not exist")
                continue  # e.g. portal.secret_key_file: the key lives in the store now
            files.append((_entry(key, f"files/{key}", path, path), path))
        if config.source not in ("defaults", ""):
            path = Path(config.source)
            files.append((_entry(CONFIG_KEY, "config/oasis.toml", path, path), path))
        manifest = Manifest(FORMAT, iso(time.time()), socket.gethostname(), _package_version(),
                            versions, [entry for entry, _ in files])
        partial = Path(staging) / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add(tar, MANIFEST, io.BytesIO(manifest.to_json()), len(manifest.to_json()))
            for entry, path in files:
                with open(path, "rb") as fh:
                    _add(tar, entry.name, fh, entry.bytes)
        os.replace(partial, dest)
    return manifest


def _entry(key: str, name: str, path: Path, source: Path) -> Entry:
    return Entry(key, name, path.stat().st_size, _sha256_file(path), str(source.resolve()))


def _schema_versions(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT component, max(number) FROM schema_migrations "
                                 "GROUP BY component ORDER BY 1"))
    except sqlite3.OperationalError:  # not a store this code made
        return {}
    finally:
        conn.close()


def _add(tar: tarfile.TarFile, name: str, fh, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = PRIVATE_MODE
    info.mtime = int(time.time())
    tar.addfile(info, fh)


def read_manifest(archive: str | os.PathLike) -> Manifest:
    with _open_archive(archive) as tar:
        return _manifest_of(tar)


@contextlib.contextmanager
def _open_archive(archive: str | os.PathLike) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            yield tar
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive}: not a readable backup archive ({exc})") from None


def _manifest_of(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(f"the archive has no {MANIFEST}") from None
    fh = tar.extractfile(member)
    if fh is None:
        raise BackupError(f"{MANIFEST} is not a file")
    return Manifest.from_json(fh.read())


def _unpack(tar: tarfile.TarFile, manifest: Manifest, into: Path) -> dict[str, Path]:
    """Every file the manifest lists, written under ``into`` and checked against its SHA-256
    and size; an archive with a member the manifest does not list is refused."""
    listed = {entry.name: entry for entry in manifest.files}
    members = {member.name: member for member in tar.getmembers() if member.name != MANIFEST}
    if set(members) != set(listed):
        extra, missing = set(members) - set(listed), set(listed) - set(members)
        raise BackupError(f"the archive does not match its manifest (unlisted: "
                          f"{sorted(extra)}, missing: {sorted(missing)})")
    out = {}
    for name, entry in listed.items():
        member = members[name]
        fh = tar.extractfile(member) if member.isfile() else None
        if fh is None:
            raise BackupError(f"{name}: not a regular file in the archive")
        target = into / hashlib.sha256(name.encode()).hexdigest()[:16]
        digest, size = hashlib.sha256(), 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as sink:
            for block in iter(functools.partial(fh.read, 1 << 20), b""):
                digest.update(block)
                size += len(block)
                sink.write(block)
        if digest.hexdigest() != entry.sha256 or size != entry.bytes:
            raise BackupError(f"{name}: checksum does not match the manifest (the archive is "
                              f"damaged or was altered)")
        out[entry.key] = target
    return out


def restore(archive: str | os.PathLike, config_path: str | os.PathLike, *,
            force: bool = False) -> Restored:
    """Bring ``archive`` back on this machine.

    ``config_path`` is this machine's config file: when it does not exist, the archived config
    is written there; when it does, it is kept and says where the store and key files go.
    Nothing is written until the whole archive has been checked.
    """
    config_path = Path(config_path)
    with _open_archive(archive) as tar:
        manifest = _manifest_of(tar)
        keys = {entry.key for entry in manifest.files}
        if STORE_KEY not in keys or "store.key_file" not in keys:
            raise BackupError("the archive holds no store or no key file")
        config_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".oasis-restore-",
                                         dir=config_path.parent) as staging:
            unpacked = _unpack(tar, manifest, Path(staging))
            if not config_path.exists():
                if CONFIG_KEY not in unpacked:
                    raise BackupError(f"{config_path} does not exist and the archive holds no "
                                      f"config: write one first")
                _write_private(config_path, unpacked[CONFIG_KEY].read_bytes(), replace=False)
            config = load_config(config_path, env={})
            targets = {key: config.resolve_path(_configured(config, key))
                       for key in unpacked if key != CONFIG_KEY and _configured(config, key)}
            missing = sorted(set(unpacked) - set(targets) - {CONFIG_KEY})
            if missing:
                raise BackupError(f"{config_path} sets no path for {', '.join(missing)}: "
                                  f"set them as in the archived config")
            _refuse_overwrites(targets, unpacked, force)
            written = {}
            for key, target in targets.items():
                if key != STORE_KEY:
                    _write_private(target, unpacked[key].read_bytes(), replace=True)
                    written[key] = target
            if targets[STORE_KEY].exists():
                _replace_store(unpacked[STORE_KEY], targets[STORE_KEY])
            else:
                copy_store(unpacked[STORE_KEY], targets[STORE_KEY])
            written[STORE_KEY] = targets[STORE_KEY]
    store = Store(targets[STORE_KEY])  # migrates an archive from an older release
    try:
        box = SecretBox.from_key_file(targets["store.key_file"], create=False)
        aps = inventory.list_aps(store)
        for ap in aps:
            inventory.ap_secrets(store, box, ap["id"])  # SecretError if the key does not fit
        versions = store.schema_versions()
    finally:
        store.close()
    return Restored(manifest, config_path, written, versions, len(aps))


def _refuse_overwrites(targets: dict[str, Path], unpacked: dict[str, Path], force: bool) -> None:
    if force:
        return
    store = targets[STORE_KEY]
    if store.exists() and store.stat().st_size > 0:
        raise BackupError(f"store {store} exists: restoring replaces it. Stop the services that "
                          f"use it and pass --force to replace it")
    for key, target in targets.items():
        if key != STORE_KEY and target.exists() and \
                target.read_bytes() != unpacked[key].read_bytes():
            raise BackupError(f"{key}: {target} exists and differs from the archived one; "
                              f"pass --force to replace it")


def _replace_store(source: Path, target: Path) -> None:
    """Overwrite an existing store with the archived one through the backup API: SQLite locks
    and rewrites it (and its WAL) as one transaction, so no reader sees half of each."""
    ensure_private(target)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _write_private(path: Path, data: bytes, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:
        raise BackupError(f"{path} exists")
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


__all__ = ["FORMAT", "BackupError", "Entry", "Manifest", "Restored", "copy_store", "create",
           "read_manifest", "restore"]
