"""A throwaway PostgreSQL cluster (Debian `postgresql`: initdb + pg_ctl on a free port).

`postgres_cluster` (session): one cluster per test process, in a temporary folder, owned by
the ``postgres`` system user when the tests run as root (initdb refuses root). ``fsync=off``
and no WAL archiving: a test database never needs to survive a power cut, and the suite is
faster without the syncs. `postgres_cluster.database()` makes a new database from a template
that already holds the store's schema, so each test starts from an empty, migrated store in
milliseconds.
"""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support import require, xdist_worker

TEMPLATE = "oasis_template"


def pg_bin(name: str) -> str:
    """A PostgreSQL server program ("" when not installed: `start_cluster` says so first)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else (shutil.which(name) or "")


class Cluster:
    def __init__(self, root: Path, port: int, user: str | None):
        self.root, self.port, self.user = root, port, user
        self.data = root / "data"
        self._template_ready = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://oasis@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, argv: list[str]) -> subprocess.CompletedProcess:
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (self.data / "PG_VERSION").exists():
            done = self._as_owner([initdb, "-D", str(self.data), "-A", "trust", "-U", "oasis",
                                   "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
            assert done.returncode == 0, done.stderr
        done = self._as_owner([
            pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
                  " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                  " -c max_connections=300 -c shared_buffers=64MB", "start"])
        assert done.returncode == 0, done.stderr + (self.root / "log").read_text()

    def stop(self) -> None:
        self._as_owner([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                        "stop"])

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def empty_database(self) -> str:
        """A new database with nothing in it; returns its URL."""
        name = f"e_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def database(self) -> str:
        """A new database holding an empty, migrated store; returns its URL."""
        if not self._template_ready:
            from core.store import Store
            from core.store.postgresql import close_pools
            self.sql(f"CREATE DATABASE {TEMPLATE}")
            Store(self.url(TEMPLATE)).close()
            close_pools(self.url(TEMPLATE))
            self._template_ready = True
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY = FILE_COPY")
        return self.url(name)


def _free_port_for(user: str | None) -> int:
    """A free port below the ephemeral range (where the kernel hands out client ports; on
    this lab's hosts the server could not bind ports there that a probe had just freed), in
    this xdist worker's residue class."""
    index, count = xdist_worker()
    rng = random.Random()
    while True:
        port = rng.randrange(20000, 32000)
        if port % count != index:
            continue
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            probe.close()


def start_cluster() -> Cluster:
    initdb = pg_bin("initdb")
    require(bool(initdb) and bool(pg_bin("pg_ctl")),
            "PostgreSQL server binaries (initdb, pg_ctl: Debian package postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
            user = "postgres"
        except KeyError:
            require(False, "a 'postgres' system user to run the cluster as (not root)")
    root = Path(tempfile.mkdtemp(prefix="oasis-pg-"))
    if user:
        shutil.chown(root, user)
    for attempt in range(5):  # a port picked free can be taken before the server binds it
        cluster = Cluster(root, _free_port_for(user), user)
        try:
            cluster.start()
            return cluster
        except AssertionError as exc:
            if "Address already in use" not in str(exc) or attempt == 4:
                raise
    raise AssertionError("unreachable")


_current: list = []  # the running test's request, for `store_location`


@pytest.fixture(autouse=True)
def _store_request(request):
    _current.append(request)
    yield
    _current.pop()


def store_location(default) -> str:
    """Where a harness should keep its store: ``default`` (an SQLite path), or on
    ``--store postgresql`` a fresh database of the session's cluster (made on first use).
    A test module whose harness calls this is marked ``store_backed`` to run on that pass."""
    request = _current[-1] if _current else None
    if request is None or request.config.getoption("--store") != "postgresql":
        return str(default)
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def postgres_cluster():
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        from core.store.postgresql import close_pools
        close_pools()
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def other_store_location(request, tmp_path):
    """``other_store_location(name)``: where a second, empty store goes beside the test's own
    (to compare two runs, or two nodes that share nothing): ``tmp_path / name`` (SQLite), or
    on ``--store postgresql`` another fresh database of the session's cluster."""
    def location(name: str) -> str:
        if request.config.getoption("--store") != "postgresql":
            return str(tmp_path / name)
        url = request.getfixturevalue("postgres_cluster").database()
        from core.store.postgresql import close_pools
        request.addfinalizer(lambda: close_pools(url))
        return url
    return location


@pytest.fixture
def postgres_url(postgres_cluster):
    """A fresh, migrated PostgreSQL store for one test."""
    url = postgres_cluster.database()
    yield url
    from core.store.postgresql import close_pools
    close_pools(url)


def wait_ready(cluster: Cluster, timeout: float = 30) -> None:
    import psycopg
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(cluster.url(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
