"""Ways to run the simulator: in the foreground until a signal, or on a background thread.

``run_forever`` is what ``oasis apsim run`` does. ``SimulatorThread`` is for tests and embedding
(the demo, benchmarks): the simulator gets its own event loop on a thread, and every control
call is marshalled onto that loop so the simulator is only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
import time
from typing import Any, Callable

from agents.apsim.control import serve_control
from agents.apsim.simulator import ApSimulator, SimulatorSettings


async def run_forever(settings: SimulatorSettings, control: tuple[str, int] | None,
                      announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT or SIGTERM."""
    simulator = ApSimulator(settings)
    await simulator.start()
    server = await serve_control(simulator, *control) if control else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    announce(f"apsim: {len(simulator.aps)} APs on {simulator.address_range}")
    if settings.trap_target:
        announce(f"apsim: traps to {settings.trap_target[0]}:{settings.trap_target[1]}")
    if control:
        announce(f"apsim: control on {control[0]}:{control[1]}")
    try:
        await stop.wait()
    finally:
        if server:
            server.close()
            await server.wait_closed()
        await simulator.stop()


class SimulatorThread:
    """``with SimulatorThread(settings) as sim: sim.call(lambda s: s.reboot("AW-AP-01"))``."""

    def __init__(self, settings: SimulatorSettings, control: tuple[str, int] | None = None,
                 *, engine_clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.control = control
        self.simulator = ApSimulator(settings, engine_clock=engine_clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apsim", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> "SimulatorThread":
        self._thread.start()
        try:
            self._run(self._start())
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._shutdown()

    async def _start(self) -> None:
        await self.simulator.start()
        if self.control:
            self._server = await serve_control(self.simulator, *self.control)

    async def _stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        await self.simulator.stop()

    def _shutdown(self) -> None:
        if self._thread.is_alive():
            try:
                self._run(self._stop())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coroutine, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call(self, action: Callable[[ApSimulator], Any], timeout: float = 10.0) -> Any:
        """Run ``action(simulator)`` on the simulator's loop and return its result."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def apply() -> None:
            try:
                future.set_result(action(self.simulator))
            except Exception as exc:  # handed back to the calling thread, raised there
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(apply)
        return future.result(timeout)

    # Shorthands for the control operations.
    def reboot(self, name: str) -> dict:
        return self.call(lambda s: s.reboot(name))

    def link_down(self, name: str, if_index: int) -> dict:
        return self.call(lambda s: s.set_link(name, if_index, False))

    def link_up(self, name: str, if_index: int) -> dict:
        return self.call(lambda s: s.set_link(name, if_index, True))

    def set_reachable(self, name: str, reachable: bool) -> dict:
        return self.call(lambda s: s.set_reachable(name, reachable))

    def trap(self, name: str, kind: str) -> bool:
        return self.call(lambda s: s.trap(name, kind))

    def wrap_soon(self, name: str, headroom: int | None = None) -> dict:
        return self.call(lambda s: s.wrap_soon(name, headroom))

    def describe(self, name: str) -> dict:
        return self.call(lambda s: s.describe(name))
