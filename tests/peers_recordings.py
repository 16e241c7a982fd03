"""Device recordings served by snmpsim for the poller tests, and an snmpd whose v3 user the
agent's access control gives nothing.

The WiFi and legacy devices come from the snmpsim-data package (BSD; a test dependency): the
system group, ifTable and ifXTable of each recording are served as recorded, under the
community ``<kind>/<name>``. A few recordings are made from them for one fault each (under
``oasis/``): a client-count object the agent answers genErr for, and the same AP polled again
4.96 s later with one 32-bit counter wrapped and an error counter reset without a reboot; and
``oasis/odd-types``, an agent answering with odd types and values (`ODD_INTERFACES`).

tests/conftest.py serves the fixtures (``device_recordings``, ``snmpd_no_access``).
"""

from __future__ import annotations

import bz2
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import free_udp_port, require, require_tool, wait_for

#: community -> the snmpsim-data recording it serves.
DEVICES = {
    "wifi/ubiquiti-m5": "network/wifi/ubiquiti-m5",          # AirOS: no ifXTable at all
    "wifi/aruba-7210": "network/wifi/aruba-7210",            # WLAN controller, HC counters
    "wifi/ruckus-scg": "network/wifi/ruckus-smartcell-gateway",
    "wifi/cisco-controller": "network/appliance/cisco-controller",
    "wifi/ruijie-m18000": "network/wifi/ruijie-m18000",      # 3,271 interfaces
    "os/windows-xp": "os/windows/XP",                        # no ifXTable either
}
#: What the poller reads: system group, ifTable, ifXTable.
SUBTREES = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.31.")
#: OpenWrt's client count (NET-SNMP-EXTEND nsExtendOutput1Line."clients") and its neighbour.
_CLIENTS = "1.3.6.1.4.1.8072.1.3.2.3.1.1.7.99.108.105.101.110.116.115"
_CLIENTS_NEXT = "1.3.6.1.4.1.8072.1.3.2.3.1.2.7.99.108.105.101.110.116.115"
#: The fault recordings' changes (ubiquiti-m5 4.96 s later): ifInOctets.6 wraps past 2**32
#: with 50,000,000 octets, ifInErrors.2 falls from 7,912 to 161 (a driver reset, no reboot).
LATER_SECONDS = 4.96
WRAPPED_OCTETS = 50_000_000
ERRORS_BEFORE, ERRORS_AFTER = 7_912, 161
_IN_OCTETS_6, _IN_ERRORS_2, _UPTIME = "1.3.6.1.2.1.2.2.1.10.6", "1.3.6.1.2.1.2.2.1.14.2", \
    "1.3.6.1.2.1.1.3.0"
_PRELOADED = ("import dbm, dbm.dumb, encodings.latin_1, encodings.utf_8, encodings.ascii, sys; "
              "from snmpsim.commands.responder import main; sys.exit(main())")


@dataclass
class Recordings:
    host: str
    port: int
    folder: Path
    #: community -> {dotted OID: (snmprec tag, value text)} as served.
    served: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def value(self, community: str, oid: str) -> int | str | None:
        """A served value as the poller should read it (text decoded, numbers as int)."""
        entry = self.served[community].get(oid)
        if entry is None:
            return None
        tag, text = entry
        base = tag.split(":")[0]
        if base == "4x":
            return bytes.fromhex(text).decode("utf-8", "replace")
        if base == "4":
            return text
        return int(text)

    def column(self, community: str, column: str) -> dict[int, int | str | None]:
        """ifIndex -> value of one column (``column`` is its OID without the index)."""
        prefix = column + "."
        return {int(oid[len(prefix):]): self.value(community, oid)
                for oid in self.served[community] if oid.startswith(prefix)
                and oid[len(prefix):].isdigit()}


def _lines(name: str) -> list[str]:
    data = Path(importlib.util.find_spec("snmpsim_data").origin).parent / "data"
    with bz2.open(data / f"{name}.snmprec.bz2", "rt", encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in f if line.startswith(SUBTREES)]


def _replace(lines: list[str], values: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        oid, tag, _ = line.split("|", 2)
        out.append(f"{oid}|{tag}|{values[oid]}" if oid in values else line)
    return out


def _fault_recordings(ubiquiti: list[str]) -> dict[str, list[str]]:
    served = {line.split("|", 1)[0]: line.split("|", 2)[2] for line in ubiquiti}
    uptime = int(served[_UPTIME])
    octets = int(served[_IN_OCTETS_6])
    assert octets + WRAPPED_OCTETS >= 2 ** 32, "the recording's counter is near the wrap"
    before = _replace(ubiquiti, {_IN_ERRORS_2: str(ERRORS_BEFORE)})
    later = _replace(ubiquiti, {
        _UPTIME: str(uptime + int(LATER_SECONDS * 100)), _IN_ERRORS_2: str(ERRORS_AFTER),
        _IN_OCTETS_6: str((octets + WRAPPED_OCTETS) % 2 ** 32)})
    # entPhysicalDescr between the interface tables and the extend object, so a walk past the
    # end of a table stops there, as on an agent with more MIBs: only the client count fails.
    gen_err = ubiquiti + ["1.3.6.1.2.1.47.1.1.1.1.2.1|4|AirMax M5",
                          f"{_CLIENTS}|4:error|op=any,status=genError", f"{_CLIENTS_NEXT}|4|7"]
    return {"oasis/ubnt-before": before, "oasis/ubnt-later": later,
            "oasis/gen-err-clients": gen_err}


#: An agent answering every polled object with odd types and values (what a buggy or hostile
#: firmware could send), one oddity per interface: (ifIndex, ifDescr hex, ifName hex,
#: ifInOctets, ifHCInOctets, ifInErrors) as ``tag|value`` (None: left out). Counted as cases by
#: the hardening corpus.
ODD_INTERFACES = [
    (1, "6c6f", "6c6f", "65|1", "70|1", "65|0"),                          # a sane one
    (2, "ff fe 00 41".replace(" ", ""), "e280ae6574683000", "4|12345", "4|many", "4|none"),
    (3, "e280a8", "00", "2|-5", "2|-1", "2|-7"),
    (4, "41" * 2000, "41" * 600, "64|10.0.0.1", "64|10.0.0.2", "64|10.0.0.3"),
    (5, "c3", "", "70|18446744073709551615", "70|18446744073709551615", "70|4294967296"),
    (6, "", "0a0d", "6|1.3.6.1", "6|1.3.6.1.4.1", "6|1.3"),
    (7, "efbfbf", "f09f9880", "68x|00ff", "66|5", "67|9"),
    (8, "20", None, None, None, None),                                  # a row with no counters
]
ODD_SCALARS = {"1.3.6.1.2.1.1.1.0": "4x|ff00e280aee280a8" + "41" * 4000,   # sysDescr
               "1.3.6.1.2.1.1.3.0": "4|not a timeticks",                     # sysUpTime as text
               "1.3.6.1.2.1.1.5.0": "2|42"}                                  # sysName a number


def _odd_recording() -> list[str]:
    lines = [f"{oid}|{value}" for oid, value in ODD_SCALARS.items()]
    for index, descr, name, in32, hc_in, errors in ODD_INTERFACES:
        lines += [f"1.3.6.1.2.1.2.2.1.1.{index}|2|{index}",
                  f"1.3.6.1.2.1.2.2.1.2.{index}|4x|{descr}",
                  f"1.3.6.1.2.1.2.2.1.3.{index}|2|6"]
        for column, value in (("1.3.6.1.2.1.2.2.1.10", in32), ("1.3.6.1.2.1.2.2.1.14", errors),
                              ("1.3.6.1.2.1.31.1.1.1.1", None if name is None else f"4x|{name}"),
                              ("1.3.6.1.2.1.31.1.1.1.6", hc_in)):
            if value is not None:
                lines.append(f"{column}.{index}|{value}")
    lines.append(f"{_CLIENTS}|64|192.168.1.7")              # a client count as an address
    return sorted(lines, key=lambda line: tuple(int(a) for a in line.split("|")[0].split(".")))


def _parse(lines: list[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for line in lines:
        oid, tag, value = line.split("|", 2)
        out[oid] = (tag, value)
    return out


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def device_recordings():
    """snmpsim serving `DEVICES` and the fault recordings on one UDP port."""
    require(importlib.util.find_spec("snmpsim") is not None, "python package snmpsim")
    require(importlib.util.find_spec("snmpsim_data") is not None, "python package snmpsim-data")
    folder = Path(tempfile.mkdtemp(prefix="oasis-recordings-"))
    try:
        os.chmod(folder, 0o755)
        recordings = {community: _lines(name) for community, name in DEVICES.items()}
        recordings |= _fault_recordings(recordings["wifi/ubiquiti-m5"])
        recordings["oasis/odd-types"] = _odd_recording()
        data = folder / "data"
        for community, lines in recordings.items():
            path = data / f"{community}.snmprec"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cache = folder / "cache"
        cache.mkdir()
        os.chmod(cache, 0o777)
        # snmpsim drops to nobody/nogroup when started as root: its folders must be reachable.
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir()
                                                              else 0))
        port = free_udp_port()
        log_path = folder / "snmpsim.log"
        args = [sys.executable, "-c", _PRELOADED, f"--data-dir={data}", f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}"]
        if os.geteuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: process.poll() is not None
                     or "Listening at" in log_path.read_text(errors="replace"),
                     timeout=120, what="snmpsim start-up (indexing the recordings)")
            require(process.poll() is None,
                    f"snmpsim running (log: {log_path.read_text(errors='replace')[-800:]})")
            yield Recordings("127.0.0.1", port, folder,
                             {c: _parse(lines) for c, lines in recordings.items()})
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: snmpd_no_access's v3 users: one the access control gives nothing (every request is
#: answered authorizationError), one that may read the system group only.
NO_ACCESS_USER = ("noview", "noview-auth-key", "noview-priv-key")
SYSTEM_ONLY_USER = ("sysonly", "sysonly-auth-key", "sysonly-priv-key")


@dataclass(frozen=True)
class SnmpdPeer:
    host: str
    port: int


@pytest.fixture(scope="module")
def snmpd_no_access(tmp_path_factory):
    binary = require_tool("snmpd")
    folder = tmp_path_factory.mktemp("snmpd-no-access")
    persistent = folder / "persist"
    persistent.mkdir()
    port = free_udp_port()
    conf = folder / "snmpd.conf"
    users = "".join(f'createUser {u} SHA "{a}" AES "{p}"\n'
                    for u, a, p in (NO_ACCESS_USER, SYSTEM_ONLY_USER))
    conf.write_text(f"[snmp] persistentDir {persistent}\n"
                    f"agentaddress udp:127.0.0.1:{port}\n" + users +
                    "view systemonly included .1.3.6.1.2.1.1\n"
                    f"rouser {SYSTEM_ONLY_USER[0]} authpriv -V systemonly\n"
                    "dontLogTCPWrappersConnects yes\n")
    log_path = folder / "snmpd.log"
    env = dict(os.environ, MIBS="", MIBDIRS=str(folder), SNMP_PERSISTENT_DIR=str(persistent))
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-f", "-Lo", "-C", "-c", str(conf)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: process.poll() is not None or "NET-SNMP version" in log_path.read_text(),
                 what="snmpd start-up")
        require(process.poll() is None, f"snmpd running (log: {log_path.read_text()[-500:]})")
        yield SnmpdPeer("127.0.0.1", port)
    finally:
        _stop(process)
