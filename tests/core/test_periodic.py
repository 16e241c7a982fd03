"""core.periodic: passes on a timer and on demand, and a failed pass does not end the worker."""

import threading

from core.periodic import Periodic
from tests.support import wait_for


def test_a_failing_pass_is_logged_and_the_next_one_runs(caplog):
    passes = []
    done = threading.Event()

    def work():
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("store hiccup")
        done.set()

    worker = Periodic("test-worker", 3600.0, work)
    worker.start()
    try:
        worker.wake()          # an hour-long interval: only wake() can make these passes
        wait_for(lambda: passes, timeout=5, what="the first pass")
        worker.wake()
        assert done.wait(5)
        assert worker.alive
    finally:
        worker.stop()
    assert not worker.alive and passes[:2] == [0, 1]
    assert "test-worker: pass failed" in caplog.text and "store hiccup" in caplog.text


def test_stop_ends_a_worker_waiting_out_its_interval():
    worker = Periodic("idle", 3600.0, lambda: None)
    worker.start()
    worker.stop()
    assert not worker.alive
