"""Two distributions from one tree: oasis-edge (everything) and oasis-edge-agent (core and the
gateway and backhaul agents, dist/agent/pyproject.toml).

Both wheels are built as an operator builds them (no build isolation: setuptools comes from the
lock), and the agent wheel is installed into a fresh venv with its locked dependencies only,
from a wheelhouse filled once from the package index (tests/artifacts/wheelhouse; later runs
need no network). There the agents' commands run, and the central process's libraries are
absent.
"""

from __future__ import annotations

import fnmatch
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from agents.backhaul.probe import encode
from tests.support import free_udp_port

ROOT = Path(__file__).resolve().parents[1]
AGENT_DIST = ROOT / "dist" / "agent"
AGENT_LOCK = AGENT_DIST / "requirements.lock"
WHEELHOUSE = ROOT / "tests" / "artifacts" / "wheelhouse"
PIP = [sys.executable, "-m", "pip"]
#: What a park gateway or branch router must run without.
CENTRAL = ("flask", "flask_babel", "flask_wtf", "pysnmp", "netmiko", "amqtt", "waitress",
           "granian")
FULL_PACKAGES = ("core", "agents", "controller", "captive_portal", "netconfig", "reporting")


def pyproject(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{argv}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def agent_module_included(module: str) -> bool:
    include = pyproject(AGENT_DIST / "pyproject.toml")["tool"]["setuptools"]["packages"]["find"][
        "include"]
    package = module.split(":")[0].rsplit(".", 1)[0] if ":" in module else module
    return any(fnmatch.fnmatchcase(package, pattern) for pattern in include)


def test_agent_entry_points_are_oasis_edges_within_its_packages():
    """The agent registers exactly the config sections, migrations and platforms oasis-edge
    registers whose code it ships: none missing (a gateway would not find them), none extra."""
    full = pyproject(ROOT / "pyproject.toml")["project"]["entry-points"]
    agent = pyproject(AGENT_DIST / "pyproject.toml")["project"].get("entry-points", {})
    for group in ("oasis.config", "oasis.migrations", "oasis.platforms"):
        expected = {name: target for name, target in full.get(group, {}).items()
                    if agent_module_included(target)}
        assert agent.get(group, {}) == expected, (
            f"[project.entry-points.{group!r}] of dist/agent/pyproject.toml")


def test_both_distributions_carry_the_same_version():
    full = pyproject(ROOT / "pyproject.toml")["project"]
    agent = pyproject(AGENT_DIST / "pyproject.toml")["project"]
    assert agent["version"] == full["version"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """Both wheels, built from a copy of the tree (a build leaves build/ and egg-info behind)."""
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for package in FULL_PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(AGENT_DIST, tree / "dist" / "agent", ignore=ignore)
    out = tmp_path_factory.mktemp("wheels")
    for source in (tree, tree / "dist" / "agent"):
        run([*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
             "-w", str(out), str(source)])
    built = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    for name, path in sorted(built.items()):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
    return built["oasis_edge"], built["oasis_edge_agent"]


def wheel_packages(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {"/".join(name.split("/")[:2]) for name in archive.namelist()
                if not name.split("/")[0].endswith(".dist-info")}


def test_full_wheel_carries_every_package_and_its_data(wheels):
    full, _ = wheels
    with zipfile.ZipFile(full) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("oasis_edge-0.1.0.dist-info/entry_points.txt").decode()
    for package in FULL_PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "core/migrations/0001_inventory.sql" in names
    assert any(name.startswith("captive_portal/templates/") for name in names)
    assert "captive_portal/translations/ar/LC_MESSAGES/messages.po" in names
    assert not any(name.endswith(".mo") for name in names)  # compiled in memory at start-up
    assert "oasis = controller.cli:main" in entry_points


def test_agent_wheel_holds_core_and_the_edge_agents_only(wheels):
    _, agent = wheels
    packages = wheel_packages(agent)
    assert {"agents/gateway", "agents/backhaul", "core/contracts", "core/config.py"} <= packages
    assert not {p for p in packages
                if p.split("/")[0] in ("controller", "captive_portal", "netconfig", "reporting")}
    assert "agents/apsim" not in packages and "agents/backoffice" not in packages
    with zipfile.ZipFile(agent) as archive:
        names = set(archive.namelist())
        metadata = archive.read("oasis_edge_agent-0.1.0.dist-info/METADATA").decode()
    assert "core/contracts/schemas/gateway-command.json" in names
    requires = sorted(line.split(":", 1)[1].split()[0].split(">")[0].split("<")[0]
                      for line in metadata.splitlines() if line.startswith("Requires-Dist:"))
    assert requires == ["click", "paho-mqtt", "pyroute2"]


def fill_wheelhouse() -> None:
    """The agent lock's wheels, downloaded once (hash-checked) and reused offline after."""
    pins = [line.split(" ")[0] for line in AGENT_LOCK.read_text().splitlines()
            if "==" in line and not line.startswith(("#", " "))]
    have = {path.name.split("-")[0].lower().replace("_", "-") + "==" + path.name.split("-")[1]
            for path in WHEELHOUSE.glob("*.whl")}
    if all(pin.lower().replace("_", "-") in have for pin in pins):
        return
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    run([*PIP, "download", "-q", "--require-hashes", "--only-binary", ":all:", "--no-deps",
         "-d", str(WHEELHOUSE), "-r", str(AGENT_LOCK)])


@pytest.fixture(scope="module")
def agent_venv(wheels, tmp_path_factory):
    """A fresh venv with the agent wheel and its locked dependencies, nothing else."""
    _, agent = wheels
    fill_wheelhouse()
    venv = tmp_path_factory.mktemp("agent-venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run([*PIP, "--python", str(python), "install", "-q", "--no-index", "--find-links",
         str(WHEELHOUSE), "--require-hashes", "-r", str(AGENT_LOCK)])
    run([*PIP, "--python", str(python), "install", "-q", "--no-index", "--no-deps", str(agent)])
    return venv


def in_venv(venv: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(venv)}
    result = run([str(venv / "bin" / argv[0]), *argv[1:]], env=env, cwd=cwd or venv)
    assert result.stderr == ""
    return result


def test_agent_venv_lacks_the_central_libraries(agent_venv):
    code = ("import importlib.util, sys; "
            f"print(' '.join(m for m in {CENTRAL!r} if importlib.util.find_spec(m)))")
    assert in_venv(agent_venv, "python", "-c", code).stdout.strip() == ""
    code = "import importlib.util; print(importlib.util.find_spec('controller'))"
    assert in_venv(agent_venv, "python", "-c", code).stdout.strip() == "None"


def test_gateway_agent_runs_from_the_agent_wheel(agent_venv, tmp_path):
    assert "check-config" in in_venv(agent_venv, "oasis-gateway", "--help").stdout
    key = tmp_path / "gateway.key"
    key.write_text("k" * 64)
    key.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\ngateway_id = "gw-north"\nhmac_key_file = "{key}"\n'
                      f'portal_url = "https://portal.example.org/"\n\n'
                      f'[mqtt]\nhost = "10.0.0.1"\n')
    out = in_venv(agent_venv, "oasis-gateway", "--config", str(config), "check-config").stdout
    assert "gateway gw-north" in out and "broker 10.0.0.1:1883" in out
    # A mistake is named with its key and file, from the agent's own loader.
    config.write_text('[gateway]\nredirect_port = "x"\n')
    result = subprocess.run([str(agent_venv / "bin" / "oasis-gateway"), "--config", str(config),
                             "check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "redirect_port" in result.stderr


def test_backhaul_agent_runs_from_the_agent_wheel(agent_venv):
    assert "check-config" in in_venv(agent_venv, "oasis-backhaul", "--help").stdout
    assert "--listen" in in_venv(agent_venv, "oasis-backhaul", "responder", "--help").stdout
    example = ROOT / "agents" / "backhaul" / "backhaul.example.toml"
    out = in_venv(agent_venv, "oasis-backhaul", "check-config", "--config", str(example)).stdout
    assert "primary: eth1 via 10.20.1.1" in out
    assert '"$id"' in in_venv(agent_venv, "oasis-backhaul", "schema", "state").stdout



def test_hq_responder_answers_probes_from_the_agent_wheel(agent_venv):
    port = free_udp_port()
    responder = subprocess.Popen(
        [str(agent_venv / "bin" / "oasis-backhaul"), "responder", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={"PATH": f"{agent_venv / 'bin'}:/usr/bin:/bin", "HOME": str(agent_venv)})
    try:
        assert responder.stderr is not None
        first = responder.stderr.readline()  # its readiness line, once the socket is bound
        assert f"answering probes on 127.0.0.1:{port}" in first, first
        probe = encode(7, 123456789)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(probe, ("127.0.0.1", port))
            assert sock.recvfrom(64)[0] == probe
    finally:
        responder.terminate()
        responder.wait(10)


def test_edge_databases_are_created_by_their_migrations_from_the_agent_wheel(agent_venv,
                                                                             tmp_path):
    """The session book and the branch spool carry their migrations as package data."""
    code = ("import sys, sqlite3\n"
            "from agents.gateway.sessions import SessionBook\n"
            "from agents.backhaul.telemetry import Spool\n"
            "SessionBook(sys.argv[1]); Spool(sys.argv[2])\n"
            "for path in sys.argv[1:]:\n"
            "    db = sqlite3.connect(path)\n"
            "    print(sorted(c for (c,) in db.execute("
            "'SELECT DISTINCT component FROM schema_migrations')))\n")
    out = in_venv(agent_venv, "python", "-c", code, str(tmp_path / "gateway.db"),
                  str(tmp_path / "spool.db")).stdout.splitlines()
    assert len(out) == 2 and all(line not in ("", "[]") for line in out), out
