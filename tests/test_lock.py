"""The locks (requirements.lock, dist/agent/requirements.lock) are in step with the
dependencies the two pyproject.toml files declare: every requirement pinned at a version that
satisfies it, with hashes. A dependency added without `make lock` fails here, not on a fresh
install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """Name -> (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    name = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            pins[name] = (match[2], 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def declared(pyproject: Path, extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    found = [Requirement(r) for r in project.get("dependencies", [])]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize("pyproject, lock, extras", [
    ("pyproject.toml", "requirements.lock", ("test",)),
    ("dist/agent/pyproject.toml", "dist/agent/requirements.lock", ()),
], ids=["oasis-edge", "oasis-edge-agent"])
def test_lock_pins_every_declared_dependency_with_hashes(pyproject, lock, extras):
    pins = read_lock(ROOT / lock)
    assert pins, f"{lock} pins nothing"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if hashes == 0)
    assert unhashed == [], f"{lock}: pins without hashes"
    problems = []
    for requirement in declared(ROOT / pyproject, extras):
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is not in {lock}")
        elif not requirement.specifier.contains(pinned[0], prereleases=True):
            problems.append(f"{requirement}: {lock} pins {pinned[0]}")
    assert problems == [], "run `make lock`:\n" + "\n".join(problems)


def test_agent_lock_holds_none_of_the_central_libraries():
    pins = read_lock(ROOT / "dist/agent/requirements.lock")
    assert {"flask", "pysnmp", "netmiko", "amqtt", "waitress", "granian"} & set(pins) == set()
