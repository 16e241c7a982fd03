"""How the suite shares the machine's cores (pytest-xdist), served to every test by tests/conftest.py.

`make test` runs the suite in two parts (README, "Tests"):

1. ``pytest -n 2 --dist loadgroup --part parallel``: everything but the ``serial`` tests, on two
   worker processes. A test module is one unit of work: its tests run on one worker, in their
   order, so module fixtures (a browser, a lab, a simulated fleet) are built once and a test may
   count on the state the one before it left, as it does in a plain run. ``xdist_group("name")``
   on modules that must not run side by side puts them on one worker, one after the other.
2. ``pytest --part serial``: the ``serial`` tests, one at a time in one process, once the
   parallel part is over. These need the machine to themselves: they measure the timing of real
   packets (probes every 20 ms, rate limits, "refused at once"), which a busy neighbour on the
   other core would bend.

Units of work go out longest first (longest-processing-time scheduling), by the seconds each
module took in a recorded run (tests/durations.json; a module not in it counts half a second a
test), so no long module is left for the end while the other worker idles. Refresh the record
now and then with ``pytest -n 2 --dist loadgroup --record-durations`` (a subset of the suite
updates only its modules).

What keeps the workers apart: every peer binds a free port (`tests.support.free_port` hands
each worker its own residue class of ports), files live under ``tmp_path`` (a folder per
worker), namespaces and nft tables are named after the creating process's pid
(`tests.lab.netns`), and nothing is written into the checkout but screenshots, each under its
own name.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

PARTS = ("all", "parallel", "serial")
DURATIONS = Path(__file__).resolve().parent / "durations.json"
UNKNOWN_TEST_S = 0.5


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--part", choices=PARTS, default="all",
        help="all (default): every selected test; parallel: leave out the tests marked serial "
             "(the part `make test` runs on several workers); serial: only those (run after, "
             "alone)")
    parser.addoption(
        "--record-durations", action="store_true",
        help=f"write the seconds each module took into {DURATIONS.name}, which orders the "
             "units of work of a parallel run (longest first)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "serial: needs the machine to itself (timing of real packets); `make test` "
                   "runs these after the parallel part, one at a time")
    if getattr(config.option, "dist", "no") == "loadgroup":
        config.option.loadscopereorder = False  # the workers' collection order is the plan
    if config.getoption("record_durations"):
        config.pluginmanager.register(_Recorder(), "oasis-durations-recorder")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    part = config.getoption("part")
    if part != "all":
        want_serial = part == "serial"
        keep = [item for item in items
                if (item.get_closest_marker("serial") is not None) == want_serial]
        if len(keep) != len(items):
            kept = set(map(id, keep))
            config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept])
            items[:] = keep
    # `pytest -n 2` without --part: the serial tests at least never run beside each other.
    for item in items:
        if item.get_closest_marker("serial") is not None \
                and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("serial"))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _longest_first(items)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _longest_first(items: list[pytest.Item]) -> None:
    """Modules in decreasing recorded seconds, each module's tests in their order (every
    worker sorts its identical collection alike, and the scheduler deals units in this order)."""
    try:
        recorded = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        recorded = {}
    counts = Counter(_module(item.nodeid) for item in items)
    weight = {module: recorded.get(module, UNKNOWN_TEST_S * count)
              for module, count in counts.items()}
    items.sort(key=lambda item: -weight[_module(item.nodeid)])  # stable


class _Recorder:
    """``--record-durations``: each module's seconds (setup, call, teardown), merged into
    tests/durations.json; modules whose file is gone are dropped."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[_module(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if os.environ.get("PYTEST_XDIST_WORKER") or not self.seconds:
            return
        try:
            recorded = json.loads(DURATIONS.read_text())
        except (OSError, ValueError):
            recorded = {}
        recorded.update({module: round(s, 1) for module, s in self.seconds.items()})
        root = DURATIONS.parent.parent
        kept = {module: s for module, s in sorted(recorded.items())
                if (root / module).exists()}
        DURATIONS.write_text(json.dumps(kept, indent=0) + "\n")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadgroup``: a module is a unit of work unless an ``xdist_group`` mark
    names a larger one."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            return nodeid.split("::", 1)[0]

    return ModuleScheduling(config, log)
