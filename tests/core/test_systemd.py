"""core.systemd: the sd_notify datagrams as systemd reads them, the watchdog's rhythm, and what
the daemon takes out of its environment."""

from __future__ import annotations

import os
import socket
import threading

from core.systemd import ServiceNotifier
from tests.systemd_notify import NotifyListener


def test_outside_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    service = ServiceNotifier.from_environment()
    assert not service.enabled
    assert service.ready() is False and service.watchdog() is False
    assert service.wait_interval(3.0) == 3.0


def test_environment_is_read_and_taken_away(tmp_path, monkeypatch):
    listener = NotifyListener()
    monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    service = ServiceNotifier.from_environment()
    # Children (granian's workers, nft) must not speak for the service.
    assert not {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} & set(os.environ)
    assert service.watchdog_interval == 2.0
    assert service.ready("up")
    assert listener.receive(1) == {"READY": "1", "MAINPID": str(os.getpid()), "STATUS": "up"}
    # Just after READY no ping is due yet; a loop may sleep until it is.
    assert service.watchdog() is False
    assert 0.2 < service.wait_interval(10.0) <= 2.0
    listener.close()


def test_watchdog_meant_for_another_process_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert ServiceNotifier.from_environment().watchdog_interval == 0.0


def test_abstract_socket_and_pings_only_while_healthy():
    name = f"oasis-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    service = ServiceNotifier("@" + name, watchdog_usec=200_000)
    stop = threading.Event()
    healthy = threading.Event()
    healthy.set()
    thread = threading.Thread(target=service.serve_until,
                              args=(stop, lambda: None if healthy.is_set() else "broken", 1.0))
    thread.start()
    try:
        assert sock.recv(100) == b"WATCHDOG=1"
        healthy.clear()
        # After the problem is seen: its status, then silence (no more pings).
        while (message := sock.recv(100)) == b"WATCHDOG=1":
            pass
        assert message == b"STATUS=unhealthy: broken"
        sock.settimeout(0.5)
        try:
            late = sock.recv(100)
        except TimeoutError:
            late = b""
        assert late == b""
        healthy.set()
        sock.settimeout(2)
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        stop.set()
        thread.join()
        sock.close()
        service.close()
