"""The embedded MQTT broker (amqtt) that `oasis run` starts when no broker host is configured.

It exists so the whole system runs on one machine with nothing but Python; production and tests
use Mosquitto. amqtt speaks MQTT 3.1.1 only, so links to it use ``protocol=MQTT_V311``
(`EmbeddedBroker.link_protocol`). It keeps sessions in memory: a restart loses queued messages,
which the report outbox tolerates by re-sending until the back office acknowledges.

The broker runs its own asyncio loop in a daemon thread, so a synchronous program (the CLI, a
test) can start and stop it; start-up errors (port taken) are raised to the caller of `start`.
Anyone may connect without credentials, but only from a loopback address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from dataclasses import dataclass

from amqtt.broker import Broker
from amqtt.errors import BrokerError
from amqtt.plugins.base import BaseAuthPlugin

from core.config import MqttConfig, host_port
from core.mqtt import MQTT_V311

log = logging.getLogger(__name__)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything unparsable."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class LoopbackOnlyAuth(BaseAuthPlugin):
    """amqtt auth plugin: anonymous clients are welcome from loopback, nobody from elsewhere."""

    @dataclass
    class Config:
        """No options: the rule is fixed on purpose."""

    async def authenticate(self, *, session) -> bool:
        allowed = is_loopback(session.remote_address)
        if not allowed:
            log.warning("embedded broker refused client %s from %s", session.client_id,
                        session.remote_address)
        return allowed


class EmbeddedBroker:
    """An amqtt broker on ``listen`` (``HOST:PORT``; port 0 picks a free one, see ``port``)."""

    link_protocol = MQTT_V311

    def __init__(self, listen: str = "127.0.0.1:1883"):
        self.host, self._requested_port = host_port(listen, "embedded_listen")
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @classmethod
    def from_config(cls, config: MqttConfig) -> "EmbeddedBroker":
        return cls(config.embedded_listen)

    def _broker_config(self) -> dict:
        return {
            "listeners": {"default": {"type": "tcp",
                                      "bind": f"{self.host}:{self._requested_port}"}},
            "plugins": {f"{__name__}.LoopbackOnlyAuth": {}},
        }

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set() \
            and self._error is None

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once clients can connect, raises BrokerError otherwise."""
        if self._thread is not None:
            raise RuntimeError("embedded broker already started")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise BrokerError(f"embedded broker did not start within {timeout}s")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise BrokerError(f"embedded broker on {self.host}:{self._requested_port} "
                              f"failed to start: {self._error}") from self._error
        log.info("embedded MQTT broker listening on %s:%s", self.host, self.port)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down and join the thread; clients see the connection close."""
        thread, loop, stop_requested = self._thread, self._loop, self._stop_requested
        if thread is None:
            return
        if loop is not None and stop_requested is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_requested.set)
        thread.join(timeout)
        if thread.is_alive():
            log.error("embedded broker did not stop within %ss", timeout)
        self._thread = None

    def __enter__(self) -> "EmbeddedBroker":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        try:
            broker = Broker(self._broker_config())
            await broker.start()
        except (BrokerError, OSError, ValueError) as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = _bound_port(broker) or self._requested_port
        self._ready.set()
        await self._stop_requested.wait()
        await broker.shutdown()


def _bound_port(broker: Broker) -> int | None:
    """The port the default listener really bound (differs from the config for port 0)."""
    server = broker._servers.get("default")  # amqtt offers no public accessor
    sockets = getattr(getattr(server, "instance", None), "sockets", None) or ()
    for sock in sockets:
        return sock.getsockname()[1]
    return None


__all__ = ["EmbeddedBroker", "LoopbackOnlyAuth", "is_loopback"]
