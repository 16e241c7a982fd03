"""The layers hold: import contracts, the slim agents, SQL only in query modules, and types.

Each check runs the real tool (import-linter, mypy) the way CI does, so a breach fails `.ci/run`.
"""

from __future__ import annotations

import ast
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "agents", "captive_portal", "netconfig", "reporting", "controller")
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_import_contracts_are_kept():
    result = _run([str(BIN / "lint-imports")], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line", [
    ("core/logs.py", "import controller.settings"),             # core reaching up
    ("agents/gateway/nft.py", "from captive_portal import errors"),  # an agent leaving core
    ("captive_portal/otp.py", "import netconfig.render"),         # a domain importing sideways
    ("core/secrets.py", "import flask"),                          # the gateways' slim install
])
def test_a_deliberate_breach_fails_the_contracts(tmp_path, module, line):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate breach\n")
    result = _run([str(BIN / "lint-imports")], tmp_path, PYTHONPATH=str(tmp_path))
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and module.replace("/", ".")[:-3] in result.stdout


def test_park_agents_load_nothing_above_core():
    code = ("import agents.gateway.agent, agents.backhaul.agent, sys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'controller', 'captive_portal', 'netconfig', 'reporting'}))")
    result = _run([sys.executable, "-c", code], ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


#: Where SQL may not run: pages, API, CLI and the 940 form/Open311 front ends call the query
#: functions of the domain that owns the table.
_FRONT_ENDS = ("controller/web/", "controller/cli/", "captive_portal/views/",
               "captive_portal/open311/", "captive_portal/reports/views.py",
               "captive_portal/reports/web.py", "reporting/web/", "reporting/cli.py")
_SQL_CALLS = {"execute", "executemany", "executescript", "query"}


def _sql_calls(path: Path) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(1 for node in ast.walk(tree)
               if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr in _SQL_CALLS)


def test_front_ends_run_no_sql():
    offenders = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(_FRONT_ENDS) and _sql_calls(path):
                offenders[rel] = _sql_calls(path)
    assert offenders == {}


#: SQL keywords are written in capitals here, so prose ("from the") does not match.
_TABLE_WORDS = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([A-Za-z_][A-Za-z0-9_]*)")


def test_reporting_queries_only_its_own_tables():
    """reporting keeps its own facts and roll-ups (reporting/migrations) and reads every other
    domain through that domain's query functions: no table of another package in its SQL."""
    own = set()
    for sql in (ROOT / "reporting" / "migrations").glob("*.sql"):
        own |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql.read_text()))
    assert own, "reporting has no tables: the rule below would pass vacuously"
    others = {}
    for path in (ROOT / "reporting").rglob("*.py"):
        if not _sql_calls(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = {m.group(1) for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 for m in _TABLE_WORDS.finditer(node.value)}
        foreign = {t for t in named if t not in own and t.lower() not in _SQL_WORDS}
        if foreign:
            others[path.relative_to(ROOT).as_posix()] = sorted(foreign)
    assert others == {}


#: Words the pattern above catches that are not tables (``INSERT OR REPLACE INTO``, CTE names...).
_SQL_WORDS = {"select", "set", "values", "json_each", "generate_series", "pragma_table_info"}


def test_mypy_finds_no_errors():
    result = _run([str(BIN / "mypy")], ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_picture_in_docs_is_current():
    from tests import architecture_graph

    doc = architecture_graph.DOC.read_text(encoding="utf-8")
    assert architecture_graph.rendered(doc) == doc, (
        "refresh it: .venv/bin/python -m tests.architecture_graph --write")
