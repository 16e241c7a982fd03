"""The systemd units shipped with each package: `systemd-analyze verify` accepts every one, each
daemon is a Type=notify service with a watchdog, runs as the oasis user with no capability
beyond what it needs, and its ExecStart is a command the `oasis` CLI has.

systemd-analyze verifies files without systemd running as PID 1 (a container, CI). It checks
that ExecStart's program exists, so the units are verified as copies whose /usr/local/bin/oasis
(where docs/operations.md installs it) is this checkout's `oasis`; nothing else is changed.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agents
import captive_portal
import controller
from tests.support import require_tool

#: Where docs/operations.md installs the commands (either distribution: the agents' units run
#: oasis-gateway and oasis-backhaul, which both have).
BIN = "/usr/local/bin/"
PACKAGES = [Path(controller.__file__).parent, Path(captive_portal.__file__).parent,
            Path(agents.__file__).parent / "gateway", Path(agents.__file__).parent / "backhaul"]
UNITS = sorted(path for folder in PACKAGES for pattern in ("*.service", "*.timer")
               for path in folder.glob(pattern))

#: Each daemon's unit and the only capabilities it may have.
DAEMONS = {
    "oasis-controller.service": "",
    "oasis-portal.service": "CAP_NET_BIND_SERVICE",
    "oasis-gateway.service": "CAP_NET_ADMIN",
    "oasis-backhaul.service": "CAP_NET_ADMIN CAP_NET_RAW",
    "oasis-backhaul-responder.service": "",
}
SCHEDULED = {"oasis-nightly.service": "oasis-nightly.timer"}


def _read(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def _bin() -> str:
    """This checkout's commands (the venv's bin/), as BIN is spelled."""
    return str(Path(sys.executable).parent) + "/"


def test_every_daemon_has_its_unit():
    names = {path.name for path in UNITS}
    assert set(DAEMONS) | set(SCHEDULED) | set(SCHEDULED.values()) == names


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = require_tool("systemd-analyze")
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(BIN, _bin()))
    result = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_systemd_analyze_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a unit whose program is missing is refused."""
    analyze = require_tool("systemd-analyze")
    unit = tmp_path / "oasis-controller.service"
    unit.write_text((Path(controller.__file__).parent / unit.name).read_text())
    text = unit.read_text().replace(BIN + "oasis", str(tmp_path / "no-such-oasis"))
    unit.write_text(text)
    result = subprocess.run([analyze, "verify", str(unit)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode != 0 and "no-such-oasis" in result.stderr


#: `systemd-analyze security`'s exposure (0 safest, 10 unprotected) no unit may exceed, x10;
#: the units are at 3.0-3.6 (the branch agent's routes and sysctls cost the most).
EXPOSURE_LIMIT = 40


def test_systemd_analyze_security_rates_every_service_ok(tmp_path):
    analyze = require_tool("systemd-analyze")
    for unit in UNITS:
        if unit.suffix != ".service":
            continue
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(BIN, _bin()))
        result = subprocess.run([analyze, "security", "--offline=true",
                                 f"--threshold={EXPOSURE_LIMIT}", str(copy)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, f"{unit.name}: {result.stdout[-300:]}"


@pytest.mark.parametrize("name", sorted(DAEMONS))
def test_daemons_notify_have_a_watchdog_and_least_privilege(name):
    path = next(path for path in UNITS if path.name == name)
    unit = _read(path)["Service"]
    assert unit["Type"] == "notify"
    assert float(unit["WatchdogSec"]) > 0
    assert unit["Restart"] in ("on-failure", "always")
    assert (unit["User"], unit["Group"]) == ("oasis", "oasis")
    assert unit["NoNewPrivileges"] == "yes" and unit["ProtectSystem"] == "strict"
    assert unit["ProtectHome"] == "yes" and unit["PrivateTmp"] == "yes"
    assert unit["CapabilityBoundingSet"] == DAEMONS[name]
    assert unit["AmbientCapabilities"] == DAEMONS[name]
    assert unit["ExecStart"].startswith(BIN + ("oasis-" if "/agents/" in str(path) else "oasis "))


def test_scheduled_work_is_a_timer_and_a_oneshot_service():
    for service_name, timer_name in SCHEDULED.items():
        service = _read(next(p for p in UNITS if p.name == service_name))["Service"]
        timer = _read(next(p for p in UNITS if p.name == timer_name))
        assert service["Type"] == "oneshot"
        assert service["CapabilityBoundingSet"] == "" and service["NoNewPrivileges"] == "yes"
        assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
        assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.parametrize("unit", [p for p in UNITS if p.suffix == ".service"],
                         ids=lambda p: p.name)
def test_exec_start_is_an_oasis_command(unit):
    """Each ExecStart line names a command (and options) this version installs."""
    service = _read(unit)["Service"]
    for line in service["ExecStart"].splitlines():
        argv = shlex.split(line)
        assert argv[0].startswith(BIN)
        program = argv[0].replace(BIN, _bin())
        if not shutil.which(program):
            pytest.fail(f"{program} is not installed (pip install -e .)")
        result = subprocess.run([program, *argv[1:], "--help"], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, f"{line}: {result.stderr}"
