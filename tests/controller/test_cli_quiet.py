"""A CLI call prints its answer and nothing else: no library warning on stderr.

cryptography 51 deprecates DSA, and asyncssh (the simulated APs' SSH servers) names DSA classes
at import: that printed ten warnings before every ``oasis`` command and broke the benchmark
that waits for the back office's first line. The calls run as an operator runs them, as new
processes with Python's default warning filters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [
    [str(BIN / "oasis"), "--help"],
    [str(BIN / "oasis"), "config", "--help"],
    [str(BIN / "oasis"), "agent", "gateway", "--help"],
    [sys.executable, "-m", "agents.backhaul", "schema", "state"],
    [str(BIN / "oasis"), "backoffice", "--help"],
], ids=["oasis", "config", "gateway", "backhaul-schema", "backoffice"])
def test_cli_call_prints_nothing_on_stderr(argv, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no PYTHONWARNINGS from the caller
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""


@pytest.mark.parametrize("argv", [["ap", "list"], ["ap", "list", "--json"],
                                  ["config", "push", "--dry-run", "all"]],
                         ids=["ap-list", "ap-list-json", "config-push-dry-run"])
def test_commands_that_read_the_store_print_no_warning(argv, tmp_path):
    """Commands that open the store and load the SNMP and SSH layers, in a fresh directory
    (they make their own empty store there)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(BIN / "oasis"), *argv], capture_output=True, text=True,
                            timeout=60, env=env, cwd=tmp_path)
    assert "Warning" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_importing_asyncssh_elsewhere_still_warns_about_dsa():
    """The filter is asyncssh's alone: DSA used anywhere else still warns."""
    code = ("import warnings; import agents.apsim.ssh_server\n"
            "from cryptography.hazmat.primitives.asymmetric import dsa\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('default')\n"
            "    dsa.generate_private_key(1024)\n"
            "print(len([w for w in seen if 'DSA' in str(w.message)]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 1
