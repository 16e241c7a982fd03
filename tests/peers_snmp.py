"""Real SNMP peers for tests: net-snmp ``snmpd`` and snmpsim, each on a free UDP port.

tests/conftest.py serves the fixtures (``snmpd``, ``snmpd_v3``, ``snmpsim_peer``,
``snmpsim_v3``) to every test.
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
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context

from tests.support import free_udp_port, require, require_tool, wait_for

SNMPD_COMMUNITY = "oasis-ro"
SNMPD_V3_USER = "oasis"
SNMPD_V3_AUTH = "oasis-auth-key"
SNMPD_V3_PRIV = "oasis-priv-key"
SNMPD_SYS_NAME = "park-ap-test"
SNMPD_CLIENTS = 7
SNMPSIM_RECORDING = "linux-full-walk"
#: Our protocol names (core.snmp_usm) -> net-snmp's.
NETSNMP_AUTH = {"MD5": "MD5", "SHA": "SHA", "SHA224": "SHA-224", "SHA256": "SHA-256",
                "SHA384": "SHA-384", "SHA512": "SHA-512"}
NETSNMP_PRIV = {"DES": "DES", "AES": "AES", "AES192": "AES-192", "AES256": "AES-256",
                "AES192C": "AES-192-C", "AES256C": "AES-256-C"}
#: snmpd_v3's users: (name, auth protocol, privacy protocol), ours; None: that level is off.
#: Every pair net-snmp offers, authNoPriv for each hash, and one noAuthNoPriv user.
SNMPD_V3_USERS = ([(f"u-{a.lower()}-{p.lower()}", a, p) for a in NETSNMP_AUTH for p in NETSNMP_PRIV]
                  + [(f"u-{a.lower()}", a, None) for a in NETSNMP_AUTH] + [("u-plain", None, None)])
#: snmpsim_v3's engines: (user, auth protocol, privacy protocol as snmpsim names it, ours).
SNMPSIM_V3_ENGINES = [("sim-sha-aes", "SHA", "AES", "AES"),
                      ("sim-sha512-aes256", "SHA512", "AES256BLMT", "AES256"),
                      ("sim-sha256-aes192c", "SHA256", "AES192", "AES192C"),
                      ("sim-md5-des", "MD5", "DES", "DES")]
# snmpsim imports dbm and codecs lazily, after it dropped root for nobody, who cannot read a
# Python installed under /root: import them while still root, then run its normal entry point.
_SNMPSIM_PRELOADED = ("import dbm, dbm.dumb, encodings.latin_1, encodings.utf_8, encodings.ascii, sys; "
                      "from snmpsim.commands.responder import main; sys.exit(main())")


@dataclass(frozen=True)
class SnmpPeer:
    host: str
    port: int
    community: str
    #: snmpsim_v3: the port of each engine, by user.
    v3_ports: tuple[tuple[str, int], ...] = ()


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Snmpd:
    """net-snmp snmpd in the foreground on ``port``, restartable: with the same persistent
    folder it comes back as the same engine with engine boots + 1 (a reboot); with a new one
    it comes back as a new engine (a replaced AP, or one that keeps no state)."""

    def __init__(self, folder: Path, port: int, config: str):
        self.binary = require_tool("snmpd")
        self.folder = folder
        self.port = port
        self.config = config
        self.generation = 0
        self.process: subprocess.Popen | None = None

    def start(self, *, new_engine: bool = False) -> None:
        if new_engine or self.generation == 0:
            self.generation += 1
        persistent = self.folder / f"persist-{self.generation}"
        persistent.mkdir(exist_ok=True)
        conf = self.folder / "snmpd.conf"
        conf.write_text(f"[snmp] persistentDir {persistent}\n"
                        f"agentaddress udp:127.0.0.1:{self.port}\n" + self.config
                        + "dontLogTCPWrappersConnects yes\n")
        log_path = self.folder / "snmpd.log"
        log_path.write_text("")
        # No MIBs: snmpd only serves numbers, and parsing the MIB files costs start-up time.
        env = dict(os.environ, MIBS="", MIBDIRS=str(self.folder),
                   SNMP_PERSISTENT_DIR=str(persistent))
        # -C reads only the files given, so the state snmpd saved when it last stopped (engine
        # ID, engine boots) is given too: without it every start would be a new engine.
        files = [conf] + [saved for saved in [persistent / "snmpd.conf"] if saved.exists()]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "-f", "-Lo", "-C", "-c", ",".join(map(str, files))],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        process = self.process
        wait_for(lambda: process.poll() is not None or "NET-SNMP version" in log_path.read_text(),
                 what="snmpd start-up")
        require(process.poll() is None, f"snmpd running (log: {log_path.read_text()[-500:]})")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def restart(self, *, new_engine: bool = False) -> None:
        self.stop()
        self.start(new_engine=new_engine)


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory):
    """net-snmp snmpd in the foreground: v2c community, v3 authPriv SHA/AES user, and
    ``extend clients`` printing SNMPD_CLIENTS (what an OpenWrt AP's extend script does)."""
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"), free_udp_port(),
                  f"rocommunity {SNMPD_COMMUNITY} 127.0.0.1\n"
                  f'createUser {SNMPD_V3_USER} SHA "{SNMPD_V3_AUTH}" AES "{SNMPD_V3_PRIV}"\n'
                  f"rouser {SNMPD_V3_USER} authpriv\n"
                  f"extend clients /bin/echo {SNMPD_CLIENTS}\n"
                  f"sysName {SNMPD_SYS_NAME}\n")
    try:
        agent.start()
        yield SnmpPeer("127.0.0.1", agent.port, SNMPD_COMMUNITY)
    finally:
        agent.stop()


def _snmpd_v3_config() -> str:
    lines = []
    for name, auth, priv in SNMPD_V3_USERS:
        if auth is None:
            lines += [f"createUser {name}", f"rouser {name} noauth"]
        elif priv is None:
            lines += [f'createUser {name} {NETSNMP_AUTH[auth]} "{SNMPD_V3_AUTH}"',
                      f"rouser {name} auth"]
        else:
            lines += [f'createUser {name} {NETSNMP_AUTH[auth]} "{SNMPD_V3_AUTH}" '
                      f'{NETSNMP_PRIV[priv]} "{SNMPD_V3_PRIV}"', f"rouser {name} priv"]
    lines += [f"extend clients /bin/echo {SNMPD_CLIENTS}", f"sysName {SNMPD_SYS_NAME}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def snmpd_v3(tmp_path_factory):
    """An `Snmpd` with a user for every auth/priv pair net-snmp offers (SNMPD_V3_USERS, pass
    phrases SNMPD_V3_AUTH/SNMPD_V3_PRIV), restartable to reboot it or make it a new engine."""
    agent = Snmpd(tmp_path_factory.mktemp("snmpd-v3"), free_udp_port(), _snmpd_v3_config())
    try:
        agent.start()
        yield agent
    finally:
        agent.stop()


def snmpsim_recording() -> Path:
    return Path(importlib.util.find_spec("snmpsim").origin).parent / "data" / "recorded" / f"{SNMPSIM_RECORDING}.snmprec"


@pytest.fixture(scope="module")
def snmpsim_peer():
    """snmpsim serving the Linux walk it ships with; the community is the recording's path."""
    yield from _snmpsim(v3=False)


@pytest.fixture(scope="module")
def snmpsim_v3():
    """snmpsim serving the same walk over SNMPv3, one engine (and port) per user of
    SNMPSIM_V3_ENGINES; the v3 context name is the recording's path, as the community is."""
    yield from _snmpsim(v3=True)


def _snmpsim(v3: bool):
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
        args = [sys.executable, "-c", _SNMPSIM_PRELOADED, f"--cache-dir={cache}"]
        v3_ports = []
        if v3:
            # Each engine's options follow its --v3-engine-id, its data folder and port included.
            for user, auth, snmpsim_priv, _ in SNMPSIM_V3_ENGINES:
                v3_ports.append((user, free_udp_port()))
                args += ["--v3-engine-id=auto", f"--data-dir={folder / 'data'}",
                         f"--v3-user={user}", f"--v3-auth-key={SNMPD_V3_AUTH}",
                         f"--v3-auth-proto={auth}", f"--v3-priv-key={SNMPD_V3_PRIV}",
                         f"--v3-priv-proto={snmpsim_priv}",
                         f"--agent-udpv4-endpoint=127.0.0.1:{v3_ports[-1][1]}"]
        else:
            args += [f"--data-dir={folder / 'data'}", f"--agent-udpv4-endpoint=127.0.0.1:{port}"]
        if os.geteuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            endpoints = max(1, len(v3_ports))
            wait_for(lambda: process.poll() is not None
                     or log_path.read_text(errors="replace").count("Listening at") >= endpoints,
                     timeout=30, what="snmpsim start-up")
            require(process.poll() is None,
                    f"snmpsim running (log: {log_path.read_text(errors='replace')[-800:]})")
            yield SnmpPeer("127.0.0.1", port, f"recorded/{SNMPSIM_RECORDING}", tuple(v3_ports))
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class PysnmpAgent:
    """pysnmp's command responder on ``port`` with SNMPD_V3_USERS (every pair pysnmp and
    net-snmp share), answering from pysnmp's own MIB. Build and close it inside the running
    event loop: pysnmp's transport lives on it."""

    def __init__(self, port: int, users=SNMPD_V3_USERS):
        auth = {"MD5": config.USM_AUTH_HMAC96_MD5, "SHA": config.USM_AUTH_HMAC96_SHA,
                "SHA224": config.USM_AUTH_HMAC128_SHA224,
                "SHA256": config.USM_AUTH_HMAC192_SHA256,
                "SHA384": config.USM_AUTH_HMAC256_SHA384,
                "SHA512": config.USM_AUTH_HMAC384_SHA512}
        priv = {"DES": config.USM_PRIV_CBC56_DES, "AES": config.USM_PRIV_CFB128_AES,
                "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
                "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
                "AES192C": config.USM_PRIV_CFB192_AES, "AES256C": config.USM_PRIV_CFB256_AES}
        self.port = port
        self.engine = engine.SnmpEngine()
        config.add_transport(self.engine, udp.DOMAIN_NAME,
                             udp.UdpTransport().open_server_mode(("127.0.0.1", port)))
        for name, auth_proto, priv_proto in users:
            config.add_v3_user(
                self.engine, name, auth[auth_proto] if auth_proto else config.USM_AUTH_NONE,
                SNMPD_V3_AUTH if auth_proto else None,
                priv[priv_proto] if priv_proto else config.USM_PRIV_NONE,
                SNMPD_V3_PRIV if priv_proto else None)
            level = "authPriv" if priv_proto else "authNoPriv" if auth_proto else "noAuthNoPriv"
            config.add_vacm_user(self.engine, 3, name, level, (1, 3, 6), ())
        snmp_context = context.SnmpContext(self.engine)
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                          cmdrsp.BulkCommandResponder):
            responder(self.engine, snmp_context)

    def close(self) -> None:
        self.engine.close_dispatcher()
