"""docs/operations.md, run as far as this machine allows: the wheel built and installed into a
fresh venv, the documented config written (its paths moved into a temporary folder), the first
start's commands as documented, the shipped units accepted by `systemd-analyze verify`, and a
backup restored elsewhere with the documented drill, where `oasis check` passes the config, the
store and the key file."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from captive_portal import gateways
from controller import auth
from core.secrets import SecretBox
from core.store import Store
from tests.support import free_port, require_tool

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
PASSWORD = "a long documented password"


def block(marker: str) -> str:
    """The code block after ``<!-- ops:MARKER -->`` in docs/operations.md."""
    found = re.search(rf"<!-- ops:{re.escape(marker)} -->\n```\w*\n(.*?)\n```", DOC, re.DOTALL)
    assert found, f"docs/operations.md has no block marked ops:{marker}"
    return found.group(1)


def commands(marker: str) -> list[list[str]]:
    """The block's ``oasis`` commands as argv, with ``runuser -u oasis --`` taken off."""
    out = []
    for line in block(marker).splitlines():
        line = re.sub(r"^runuser -u oasis -- ", "", line.split("  #")[0].strip())
        if line.startswith("oasis "):
            out.append(shlex.split(line))
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The oasis-edge wheel installed into a fresh venv; its dependencies are the project
    venv's (installed from the same lock), reached through a .pth line."""
    root = tmp_path_factory.mktemp("ops")
    # Built from a copy: a build writes build/ and oasis_edge.egg-info into its source tree,
    # and the checkout's egg-info is read (the checkout is on sys.path) by tests running
    # alongside this one.
    tree = root / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for package in ("core", "agents", "controller", "captive_portal", "netconfig", "reporting"):
        shutil.copytree(REPO / package, tree / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(root / "wheels"), str(tree)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (root / "wheels").glob("oasis_edge-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], check=True, capture_output=True,
                               text=True).stdout.strip())
    (site / "zz_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root, venv / "bin", site


def _run(bin_dir: Path, argv: list[str], env: dict, stdin: str = "") -> str:
    # Run from elsewhere than the checkout, whose packages would shadow the installed ones.
    result = subprocess.run([str(bin_dir / argv[0]), *argv[1:]], input=stdin, env=env,
                            cwd=bin_dir, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"{shlex.join(argv)}: {result.stdout}{result.stderr}"
    return result.stdout


def test_the_documented_server_install_runs_and_its_backup_restores_elsewhere(installed):
    root, bin_dir, site = installed
    # The installed package is the wheel's, not the checkout's.
    where = subprocess.run([bin_dir / "python", "-c",
                            "import controller; print(controller.__file__)"],
                           cwd=bin_dir, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))

    def moved(text: str, host: Path) -> str:
        return (text.replace("/var/lib/oasis", str(host / "state"))
                .replace("/etc/oasis", str(host / "etc"))
                .replace('host = "mqtt.example.org"', 'host = "127.0.0.1"')
                .replace("port = 8883", f"port = {free_port()}"))

    server = root / "server"
    (server / "etc").mkdir(parents=True)
    config = server / "etc" / "oasis.toml"
    config.write_text(moved(block("oasis.toml"), server))
    env = {**os.environ, "OASIS_CONFIG": str(config)}
    first_start = commands("first-start")
    assert [argv[1] for argv in first_start] == ["migrate", "user", "site", "portal"]
    for argv in first_start:
        _run(bin_dir, argv, env, stdin=f"{PASSWORD}\n{PASSWORD}\n")

    # The units as the wheel ships them, verified where the doc installs the commands.
    analyze = require_tool("systemd-analyze")
    units = root / "units"
    units.mkdir()
    for unit in [*site.glob("controller/*.service"), *site.glob("controller/*.timer"),
                 *site.glob("captive_portal/*.service"), *site.glob("agents/*/*.service")]:
        (units / unit.name).write_text(unit.read_text().replace("/usr/local/bin/",
                                                                f"{bin_dir}/"))
    assert {"oasis-controller.service", "oasis-portal.service",
            "oasis-gateway.service"} <= {p.name for p in units.iterdir()}
    verified = subprocess.run([analyze, "verify", *sorted(map(str, units.iterdir()))],
                              cwd=units, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr

    [backup] = commands("backup")
    archive = root / "backups" / "oasis-drill.tar.gz"
    assert backup[:2] == ["oasis", "backup"]
    _run(bin_dir, [*backup[:2], str(archive)], env)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    # The spare machine has its own config (the same file, its own folders): the archived
    # one names the server's, where a real spare machine would have them too.
    spare = root / "spare"
    (spare / "etc").mkdir(parents=True)
    (spare / "etc" / "oasis.toml").write_text(moved(block("oasis.toml"), spare))
    spare_env = {**os.environ}
    restore, check = commands("restore")
    _run(bin_dir, [*(moved(a, spare) for a in restore[:-1]), str(archive)], spare_env)
    result = subprocess.run([str(bin_dir / "oasis"), *(moved(a, spare) for a in check[1:]),
                             "--timeout", "1"],
                            env=spare_env, cwd=bin_dir, capture_output=True, text=True,
                            timeout=60)
    lines = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()
             if len(line.split()) > 1 and line.split()[0] in ("ok", "FAIL", "WARN")}
    assert {k: lines.get(k) for k in ("config", "store", "keys")} == \
        {"config": "ok", "store": "ok", "keys": "ok"}, result.stdout + result.stderr
    assert lines.get("broker") == "FAIL"  # nothing listens where the moved config points

    store = Store(spare / "state" / "oasis.db")
    try:
        assert auth.authenticate(store, "admin", PASSWORD).role == "admin"
        box = SecretBox.from_key_file(spare / "state" / "oasis.key", create=False)
        assert gateways.gateway_key(store, box, "gw-north") is not None
    finally:
        store.close()
