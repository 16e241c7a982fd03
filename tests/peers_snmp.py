"""Real SNMP peers for tests: net-snmp ``snmpd`` and snmpsim, each on a free UDP port.

tests/conftest.py serves the fixtures (``snmpd``, ``snmpsim_peer``) to every test.
Missing tools skip on a developer machine and fail under CI=true (tests.support.require_tool).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import free_udp_port, require, require_tool, wait_for

SNMPD_COMMUNITY = "oasis-ro"
SNMPD_V3_USER = "oasis"
SNMPD_V3_AUTH = "oasis-auth-key"
SNMPD_V3_PRIV = "oasis-priv-key"
SNMPD_SYS_NAME = "park-ap-test"
SNMPD_CLIENTS = 7
SNMPSIM_RECORDING = "linux-full-walk"
# snmpsim imports dbm and codecs lazily, after it dropped root for nobody, who cannot read a
# Python installed under /root: import them while still root, then run its normal entry point.
_SNMPSIM_PRELOADED = ("import dbm, dbm.dumb, encodings.latin_1, encodings.utf_8, encodings.ascii, sys; "
                      "from snmpsim.commands.responder import main; sys.exit(main())")


@dataclass(frozen=True)
class SnmpPeer:
    host: str
    port: int
    community: str


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory):
    """net-snmp snmpd in the foreground: v2c community, v3 authPriv SHA/AES user, and
    ``extend clients`` printing SNMPD_CLIENTS (what an OpenWrt AP's extend script does)."""
    binary = require_tool("snmpd")
    folder = tmp_path_factory.mktemp("snmpd")
    persistent = folder / "persist"
    persistent.mkdir()
    port = free_udp_port()
    conf = folder / "snmpd.conf"
    conf.write_text(
        f"[snmp] persistentDir {persistent}\n"
        f"agentaddress udp:127.0.0.1:{port}\n"
        f"rocommunity {SNMPD_COMMUNITY} 127.0.0.1\n"
        f'createUser {SNMPD_V3_USER} SHA "{SNMPD_V3_AUTH}" AES "{SNMPD_V3_PRIV}"\n'
        f"rouser {SNMPD_V3_USER} authpriv\n"
        f"extend clients /bin/echo {SNMPD_CLIENTS}\n"
        f"sysName {SNMPD_SYS_NAME}\n"
        "dontLogTCPWrappersConnects yes\n")
    log_path = folder / "snmpd.log"
    # No MIBs: snmpd only serves numbers, and parsing the MIB files costs start-up time.
    env = dict(os.environ, MIBS="", MIBDIRS=str(folder), SNMP_PERSISTENT_DIR=str(persistent))
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-f", "-Lo", "-C", "-c", str(conf)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: process.poll() is not None or "NET-SNMP version" in log_path.read_text(),
                 what="snmpd start-up")
        require(process.poll() is None, f"snmpd running (log: {log_path.read_text()[-500:]})")
        yield SnmpPeer("127.0.0.1", port, SNMPD_COMMUNITY)
    finally:
        _stop(process)


def snmpsim_recording() -> Path:
    return Path(importlib.util.find_spec("snmpsim").origin).parent / "data" / "recorded" / f"{SNMPSIM_RECORDING}.snmprec"


@pytest.fixture(scope="module")
def snmpsim_peer():
    """snmpsim serving the Linux walk it ships with; the community is the recording's path."""
    require(importlib.util.find_spec("snmpsim") is not None, "python package snmpsim")
    recording = snmpsim_recording()
    require(recording.exists(), f"snmpsim recording {recording}")
    # snmpsim drops to nobody/nogroup when started as root: its folders must be reachable.
    folder = Path(tempfile.mkdtemp(prefix="oasis-snmpsim-"))
    try:
        os.chmod(folder, 0o755)
        data = folder / "data" / "recorded"
        data.mkdir(parents=True)
        shutil.copy(recording, data)
        cache = folder / "cache"
        cache.mkdir()
        os.chmod(cache, 0o777)
        for path in (folder / "data", data, data / recording.name):
            path.chmod(path.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        port = free_udp_port()
        log_path = folder / "snmpsim.log"
        args = [sys.executable, "-c", _SNMPSIM_PRELOADED, f"--data-dir={folder / 'data'}", f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}"]
        if os.geteuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: process.poll() is not None
                     or "Listening at" in log_path.read_text(errors="replace"),
                     timeout=30, what="snmpsim start-up")
            require(process.poll() is None,
                    f"snmpsim running (log: {log_path.read_text(errors='replace')[-800:]})")
            yield SnmpPeer("127.0.0.1", port, f"recorded/{SNMPSIM_RECORDING}")
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
