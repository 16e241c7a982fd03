"""`oasis run --no-portal` under its unit's protocol: READY=1 once it serves, WATCHDOG=1 from its
main loop, STOPPING=1 on SIGTERM (the unit: controller/oasis-controller.service)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.systemd_notify import (
    NotifyListener,
    assert_ready_then_pinged,
    stop_daemon,
    write_oasis_config,
)


@pytest.fixture
def listener():
    listener = NotifyListener()
    yield listener
    listener.close()


def test_controller_tells_systemd_it_is_ready_and_alive(tmp_path, mosquitto, listener):
    config = write_oasis_config(tmp_path, mosquitto)
    oasis = str(Path(sys.executable).with_name("oasis"))
    process = subprocess.Popen([oasis, "--config", str(config), "run", "--no-portal"],
                               env=listener.environment(watchdog_s=1.0),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = assert_ready_then_pinged(listener, process.pid, pings=3)
        assert ready["STATUS"].startswith("admin on http://127.0.0.1:")
    finally:
        code = stop_daemon(process)
    listener.wait_for("STOPPING", timeout=5)
    assert code == 0, process.stderr.read() if process.stderr else ""
