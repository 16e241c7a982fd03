"""The lab's one topology (vagrant/topology.toml): the Vagrantfile is made from it and passes
`vagrant validate`; the role scripts that provision the VMs bring the same hosts up in network
namespaces and their smoke checks pass (option 114, redirect, login, a 940 report the back
office acknowledges; the branch fails over and back)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.lab.netns import Lab, sweep_stale
from tests.lab.topology import REPO, NamespaceLab, load, vagrantfile
from tests.support import require_root, require_tool


def test_the_vagrantfile_is_the_one_the_topology_makes():
    assert (REPO / "vagrant" / "Vagrantfile").read_text() == vagrantfile(load()), \
        "run: python -m tests.lab.topology vagrantfile > vagrant/Vagrantfile"


def test_vagrant_validates_the_vagrantfile(tmp_path):
    vagrant = require_tool("vagrant")
    env = {**os.environ, "VAGRANT_HOME": str(tmp_path / "home"),
           "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot"), "VAGRANT_CHECKPOINT_DISABLE": "1",
           "VAGRANT_DEFAULT_PROVIDER": "libvirt"}
    result = subprocess.run([vagrant, "validate"], cwd=REPO / "vagrant", env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vagrantfile validated successfully" in result.stdout


@pytest.fixture
def lab(tmp_path):
    require_root()
    for tool in ("nft", "dnsmasq", "mosquitto", "busybox"):
        require_tool(tool)
    sweep_stale("vl")
    namespaces = Lab(prefix="vl")
    topology = NamespaceLab(namespaces, load(), tmp_path)
    try:
        yield topology
    finally:
        topology.stop()
        namespaces.close()


@pytest.mark.lab
@pytest.mark.timeout(240)
def test_the_park_comes_up_from_its_role_scripts(lab):
    lab.build({"controller", "gateway", "internet", "client"})
    for host in ("controller", "internet", "gateway"):
        lab.run_role(host)
    smoke = lab.run_role("client").stdout
    assert "option 114 http://10.20.0.1:8908/captive-portal/api" in smoke
    assert "logged in and online" in smoke
    assert "the back office acknowledged it" in smoke


@pytest.mark.lab
@pytest.mark.timeout(180)
def test_the_branch_comes_up_and_fails_over_from_its_role_scripts(lab):
    lab.build({"hq", "branch", "branchhost"})
    lab.run_role("hq")
    smoke = lab.run_role("branch").stdout
    assert "failed over to the backup" in smoke and "failed back to the primary" in smoke
    assert "headquarters answers" in lab.run_role("branchhost").stdout
