"""The MQTT adapter: the only module that imports paho-mqtt.

paho has changed every callback between major versions, so the rest of the controller sees only
`MqttLink`, `Delivery` and `InboundMessage`. The link runs paho's network loop in its own thread,
reconnects with exponential backoff, re-subscribes after every reconnect, and turns each PUBACK
into a `Delivery` result whose success comes from the MQTT 5 reason code (paho's own
``is_published()`` reports success even when the broker refused the message).

paho may acknowledge a message id before ``publish()`` has returned it to us, so acks that arrive
for an id nobody has registered yet are parked in an early-ack map and claimed when the publisher
registers the id. No lock of ours is held across a paho call that can trigger a callback.

No message can stop a link. Anyone who can publish on a subscribed topic can send anything, and
paho runs our callbacks in its network thread: an exception escaping there ends the thread, and
with it the connection, for good. So a payload is decoded defensively (`decode_payload`: size,
UTF-8, strict JSON, nesting depth; whatever fails is a dropped message, counted, with a
rate-limited warning), a handler's exception is logged and the next message delivered, and a
watcher restarts paho's loop (on a fresh connection) should its thread end for any other reason.
`MqttLink.health` says how the link is doing: connected since when, the last error, drops and
restarts; the apps' ``/healthz`` and ``/metrics`` show it.

A link knows several brokers (``[mqtt] brokers``). paho connects to one host only, so before
each connection attempt the link aims paho at the next address: the first attempt after `start`
goes to the first broker, and every reconnect (the broker went away, refused us, or could not be
reached) to the next one, round the list, with paho's backoff between attempts. A link stays on
the broker that works and does not move back: every client ends up on the one broker still up.
Nothing is carried from one broker to the other but what paho still has in flight; the outbox
and the spools resend the rest, as they do after any broker restart.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from core.config import MqttConfig, format_address
from core.mqtt_payload import MAX_DEPTH, MAX_PAYLOAD_BYTES, PayloadRejected, decode_payload

log = logging.getLogger(__name__)

#: Protocol names accepted by `MqttLink`; the embedded broker (amqtt) speaks only 3.1.1.
MQTT_V5 = "5"
MQTT_V311 = "3.1.1"
_PROTOCOLS = {MQTT_V5: MQTTProtocolVersion.MQTTv5, MQTT_V311: MQTTProtocolVersion.MQTTv311}

#: At most one warning per this many seconds about dropped messages (and one about failing
#: handlers) per link; the ones in between are counted and summed up in the next warning.
WARNING_INTERVAL_S = 10.0
#: A network loop that ran this long before it failed restarts at once; one that keeps
#: failing sooner waits longer each time (up to the reconnect maximum).
STEADY_LOOP_S = 60.0


def iso_now() -> str:
    """Current UTC time as ISO-8601 with milliseconds, the timestamp carried by every payload."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(
        ts, dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class InboundMessage:
    """A decoded JSON message: ``topic`` is relative to the configured prefix."""

    topic: str
    payload: Any
    retained: bool
    qos: int


Handler = Callable[[InboundMessage], None]


class _RateLimitedLog:
    """Logs the first of a run of similar problems, then at most one line per interval, saying
    how many were not logged in between."""

    def __init__(self, interval_s: float = WARNING_INTERVAL_S):
        self.interval_s = interval_s
        self.count = 0
        self._unlogged = 0
        self._next_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, emit: Callable[[str], None]) -> None:
        """Count one problem; call ``emit(suffix)`` if this one is to be logged."""
        with self._lock:
            self.count += 1
            now = time.monotonic()
            if now < self._next_at:
                self._unlogged += 1
                return
            skipped, self._unlogged, self._next_at = self._unlogged, 0, now + self.interval_s
        emit(f" ({skipped} more since the last warning)" if skipped else "")


@dataclass(frozen=True)
class LinkHealth:
    """How one link is doing, for ``/healthz`` and ``/metrics`` (times are unix seconds)."""

    client_id: str
    broker: str
    connected: bool
    #: Since when it has been connected (or not).
    since: float
    last_error: str | None
    last_error_at: float | None
    #: Messages that arrived on the link's subscriptions, whatever became of them.
    received: int
    #: Messages dropped undecoded, and handler calls that raised.
    dropped: int
    handler_errors: int
    #: Times the network loop had to be restarted.
    loop_restarts: int
    #: Every broker the link knows, in order (``broker`` is the one it is on, or trying).
    brokers: tuple[str, ...] = ()
    #: Connections made to another broker than the previous connection's.
    failovers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "broker": self.broker,
                "brokers": list(self.brokers or (self.broker,)), "failovers": self.failovers,
                "connected": self.connected,
                "since": _iso(self.since), "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at), "received_messages": self.received,
                "dropped_messages": self.dropped,
                "handler_errors": self.handler_errors, "loop_restarts": self.loop_restarts}


class Delivery:
    """The fate of one published message: resolved by the broker's ack or by a local refusal.

    ``ok`` is true only when the broker acknowledged it with a non-failure reason code
    (0x10 "no matching subscribers" counts as success: the broker accepted the message).
    """

    def __init__(self, mid: int | None, topic: str):
        self.mid = mid
        self.topic = topic
        self.ok: bool | None = None
        self.reason: str | None = None
        self._done = threading.Event()

    def resolve(self, ok: bool, reason: str) -> None:
        self.ok, self.reason = ok, reason
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until resolved; returns ``ok`` (False on timeout as well)."""
        return self._done.wait(timeout) and bool(self.ok)

    def __repr__(self) -> str:
        return f"Delivery(mid={self.mid}, topic={self.topic!r}, ok={self.ok}, reason={self.reason!r})"


@dataclass
class Subscription:
    """A topic filter the link keeps subscribed across reconnects."""

    topic_filter: str            # full filter, prefix included
    handler: Handler
    qos: int
    _active: threading.Event = field(default_factory=threading.Event, repr=False)
    _levels: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A shared subscription ($share/<group>/<filter>) matches messages by its filter.
        plain = self.topic_filter.split("/", 2)[2] if self.topic_filter.startswith(
            "$share/") else self.topic_filter
        self._levels = tuple(plain.split("/"))

    def matches(self, levels: list[str]) -> bool:
        """MQTT filter matching of a topic split on ``/`` (``+`` one level, ``#`` the rest,
        ``$`` topics only by name).

        paho's ``topic_matches_sub`` builds a matcher tree per call: measured at 13 % of the
        portal's CPU under a burst of logins, for one message each.
        """
        return topic_matches(self._levels, levels)

    def wait_active(self, timeout: float | None = None) -> bool:
        """True once the broker granted the subscription on the current connection."""
        return self._active.wait(timeout)

    @property
    def active(self) -> bool:
        return self._active.is_set()


def topic_matches(filter_levels: tuple[str, ...], levels: list[str]) -> bool:
    """Whether a topic (split on ``/``) matches a filter (split on ``/``)."""
    if levels[0][:1] == "$" and filter_levels[0] in ("+", "#"):
        return False  # MQTT 4.7.2: wildcards at the first level do not match $SYS and the like
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(levels) == len(filter_levels)


def _log_handler_failure(topic_filter: str, topic: str, more: str) -> None:
    """Called inside the handler's ``except``: the traceback is the handler's."""
    log.exception("handler for %s failed on %s%s", topic_filter, topic, more)


def _no_delay(client, userdata, sock) -> None:
    """Send each MQTT packet at once. With Nagle's algorithm a command -> ack round trip waits
    on delayed ACKs (measured 86 ms per portal login; 0.8 ms without)."""
    if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttLink:
    """One connection to a broker, kept alive in a background thread.

    ``protocol`` is ``MQTT_V5`` (production, Mosquitto) or ``MQTT_V311`` (the embedded amqtt
    broker). ``session_expiry_s`` > 0 with ``clean_start=False`` asks an MQTT 5 broker to keep the
    session (subscriptions, queued QoS 1 messages) while the link is away. The brokers are the
    config's (`MqttConfig.addresses`) unless ``host`` names the one to use (the embedded broker).
    """

    def __init__(self, config: MqttConfig, *, client_id: str | None = None,
                 protocol: str = MQTT_V5, clean_start: bool = True, session_expiry_s: int = 0,
                 keepalive: int = 30, reconnect_min_s: float = 0.5, reconnect_max_s: float = 30.0,
                 host: str | None = None, port: int | None = None,
                 max_payload_bytes: int = MAX_PAYLOAD_BYTES, max_depth: int = MAX_DEPTH):
        if protocol not in _PROTOCOLS:
            raise ValueError(f"protocol: expected one of {sorted(_PROTOCOLS)}, got {protocol!r}")
        self.prefix = config.prefix
        self.brokers = [(host, port or config.port)] if host else config.addresses()
        if not self.brokers:
            raise ValueError("no MQTT broker: set [mqtt] brokers (or host)")
        #: The broker in use or being tried (an index in ``brokers``), the one last connected.
        self._current = 0
        self._connected_to: int | None = None
        self._attempts = 0
        self.failovers = 0
        self.client_id = client_id or config.client_id
        self.protocol = protocol
        self._keepalive = keepalive
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s
        self._lock = threading.Lock()
        self._pending: dict[int, Delivery] = {}
        self._early_acks: dict[int, tuple[bool, str]] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._suback_waiters: dict[int, list[Subscription]] = {}
        # SUBACKs that arrived before subscribe() returned their mid (paho can be that fast).
        self._early_subacks: dict[int, list[ReasonCode]] = {}
        self._connected = threading.Event()
        self.last_connect_error: str | None = None
        self.connections = 0
        self.max_payload_bytes = max_payload_bytes
        self.max_depth = max_depth
        self.loop_restarts = 0
        self.received = 0  # written by the network thread only
        self._since = time.time()
        self._last_error: tuple[str, float] | None = None
        self._dropped = _RateLimitedLog()
        self._handler_failures = _RateLimitedLog()
        self._stopping = threading.Event()
        # Held while starting, restarting or stopping paho's loop, never across a callback.
        self._lifecycle = threading.Lock()
        self._watcher: threading.Thread | None = None

        v5 = protocol == MQTT_V5
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
            protocol=_PROTOCOLS[protocol], clean_session=None if v5 else clean_start)
        if config.username:
            self._client.username_pw_set(config.username, config.password or None)
        if config.tls:
            # The broker's certificate is always checked (against tls_ca_file, else the
            # system's CAs), and so is its name; a client certificate only if configured.
            self._client.tls_set(ca_certs=config.tls_ca_file or None,
                                 certfile=config.tls_cert_file or None,
                                 keyfile=config.tls_key_file or None,
                                 cert_reqs=ssl.CERT_REQUIRED)
        # paho annotates the delays as int but only sleeps on them; sub-second delays work.
        self._client.reconnect_delay_set(min_delay=reconnect_min_s,  # type: ignore[arg-type]
                                         max_delay=reconnect_max_s)  # type: ignore[arg-type]
        self._reconnect_min_s, self._reconnect_max_s = reconnect_min_s, reconnect_max_s
        # Our callbacks catch their own errors; should one slip through, paho logs and goes on
        # rather than letting it end the network thread.
        self._client.suppress_exceptions = True
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_socket_open = _no_delay
        self._client.on_pre_connect = self._on_pre_connect

    def __repr__(self) -> str:  # never the password
        return (f"MqttLink(client_id={self.client_id!r}, broker={self.broker}, "
                f"protocol={self.protocol}, connected={self.connected})")

    @property
    def host(self) -> str:
        """The host of the broker in use (or being tried)."""
        return self.brokers[self._current][0]

    @property
    def port(self) -> int:
        return self.brokers[self._current][1]

    @property
    def broker(self) -> str:
        """``HOST:PORT`` of the broker in use (or being tried)."""
        return format_address(self.host, self.port)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background, to the first broker first; paho keeps retrying (with
        backoff, the next broker each time) until `stop`."""
        self._current, self._attempts = 0, 0
        properties = None
        if self.protocol == MQTT_V5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self._session_expiry_s
            self._client.connect_async(self.host, self.port, self._keepalive,
                                       clean_start=self._clean_start, properties=properties)
        else:
            self._client.connect_async(self.host, self.port, self._keepalive)
        with self._lifecycle:
            self._stopping.clear()
            self._since = time.time()
            self._client.loop_start()
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name=f"mqtt-watch-{self.client_id}")
            self._watcher.start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self) -> None:
        """Disconnect cleanly and join the network thread; pending deliveries stay unresolved."""
        self._stopping.set()
        with self._lifecycle:
            self._client.disconnect()
            self._client.loop_stop()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(10)
        self._set_connected(False)

    def health(self) -> LinkHealth:
        error, error_at = self._last_error or (None, None)
        return LinkHealth(self.client_id, self.broker, self.connected,
                          self._since, error, error_at, self.received, self._dropped.count,
                          self._handler_failures.count, self.loop_restarts,
                          tuple(format_address(*address) for address in self.brokers),
                          self.failovers)

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected.is_set():
            self._since = time.time()
        if connected:
            self._connected.set()
        else:
            self._connected.clear()

    def _error(self, text: str) -> None:
        self._last_error = (text, time.time())

    # -- the network loop's watcher --------------------------------------------------------

    def _network_thread(self) -> threading.Thread | None:
        # paho offers no public handle on the thread loop_start() made; it keeps it here and
        # sets it back to None when the loop ends (paho 2.x, tested by test_mqtt.py).
        return getattr(self._client, "_thread", None)

    def _watch(self) -> None:
        """Wait for paho's network thread to end; unless we are stopping, start it again.

        The loop restarts on a fresh connection (paho's state may be half-way through a packet),
        after a delay that grows while restarts keep failing quickly.
        """
        quick_failures = 0
        while True:
            started = time.monotonic()
            thread = self._network_thread()
            if thread is not None:
                thread.join()
            if self._stopping.is_set():
                return
            quick_failures = 0 if time.monotonic() - started > STEADY_LOOP_S else quick_failures + 1
            delay = min(self._reconnect_max_s,
                        self._reconnect_min_s * 2 ** min(quick_failures - 1, 16))
            self._error("network loop ended unexpectedly; restarted")
            log.error("MQTT network loop of %s ended unexpectedly; restarting in %.1f s",
                      self.client_id, delay)
            self._lost_connection()
            if self._stopping.wait(delay):
                return
            with self._lifecycle:
                if self._stopping.is_set():
                    return
                try:
                    self._client.reconnect()
                except OSError as exc:  # the restarted loop keeps trying, with backoff
                    self._error(f"cannot reach the broker: {exc}")
                self._client.loop_start()
                self.loop_restarts += 1

    # -- topics ----------------------------------------------------------------------------

    def topic(self, suffix: str) -> str:
        """The full topic for ``suffix`` under the configured prefix."""
        if suffix.startswith("/"):
            raise ValueError(f"topic suffix must be relative to the prefix: {suffix!r}")
        return self.prefix + suffix

    def relative(self, topic: str) -> str:
        return topic[len(self.prefix):] if topic.startswith(self.prefix) else topic

    # -- publishing ------------------------------------------------------------------------

    def publish_json(self, topic_suffix: str, payload: dict[str, Any], qos: int = 1,
                     retain: bool = False, *, schema: str) -> Delivery:
        """Publish ``payload`` as JSON with ``schema`` ("name/version") and ``sent_at`` added.

        Returns at once; `Delivery.wait` tells whether the broker accepted it. A message
        published while disconnected (QoS >= 1) is sent by paho on reconnect, never twice by us.
        """
        if "/" not in schema:
            raise ValueError(f"schema must be 'name/version', got {schema!r}")
        body = {"schema": schema, "sent_at": iso_now(), **payload}
        body["schema"] = schema
        return self.publish_raw(topic_suffix, json.dumps(body, ensure_ascii=False).encode(),
                                qos=qos, retain=retain)

    def publish_raw(self, topic_suffix: str, data: bytes, *, qos: int = 1,
                    retain: bool = False) -> Delivery:
        topic = self.topic(topic_suffix)
        info = self._client.publish(topic, data, qos=qos, retain=retain)
        delivery = Delivery(info.mid, topic)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE or (
                qos == 0 and info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS):
            delivery.resolve(False, paho.error_string(info.rc))
            return delivery
        with self._lock:
            early = self._early_acks.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = delivery
        if early is not None:
            delivery.resolve(*early)
        return delivery

    def _on_publish(self, client, userdata, mid: int, reason_code: ReasonCode, properties) -> None:
        ok = not reason_code.is_failure
        reason = f"{reason_code.getName()} (0x{reason_code.value:02x})"
        if not ok:
            log.warning("broker refused message %s: %s", mid, reason)
        with self._lock:
            delivery = self._pending.pop(mid, None)
            if delivery is None:
                self._early_acks[mid] = (ok, reason)
        if delivery is not None:
            delivery.resolve(ok, reason)

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(self, topic_suffix: str, handler: Handler, qos: int = 1,
                  share: str | None = None) -> Subscription:
        """Deliver decoded JSON on ``topic_suffix`` (wildcards allowed) to ``handler``.

        ``share`` names a shared-subscription group (``$share/<group>/...``, MQTT 5 and
        Mosquitto): each message then goes to one member of the group, not to every one.
        The handler runs in the network thread: it should be quick and hand work elsewhere.
        """
        full = self.topic(topic_suffix)
        subscription = Subscription(f"$share/{share}/{full}" if share else full, handler, qos)
        with self._lock:
            self._subscriptions[subscription.topic_filter] = subscription
            # _on_connect sets `connected` before it snapshots the subscriptions, so either
            # this call sends the SUBSCRIBE or that snapshot contains it (or both: harmless).
            send_now = self.connected
        if send_now:
            self._send_subscribe([subscription])
        return subscription

    def _send_subscribe(self, subscriptions: list[Subscription]) -> None:
        if not subscriptions:
            return
        rc, mid = self._client.subscribe([(s.topic_filter, s.qos) for s in subscriptions])
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            log.warning("subscribe to %s not sent (%s); retried on reconnect",
                        [s.topic_filter for s in subscriptions], paho.error_string(rc))
            return
        with self._lock:
            early = self._early_subacks.pop(mid, None)
            if early is None:
                self._suback_waiters[mid] = subscriptions
        if early is not None:
            self._grant(subscriptions, early)

    def _on_subscribe(self, client, userdata, mid: int, reason_codes: list[ReasonCode],
                      properties) -> None:
        with self._lock:
            subscriptions = self._suback_waiters.pop(mid, None)
            if subscriptions is None:
                self._early_subacks[mid] = list(reason_codes)
                return
        self._grant(subscriptions, reason_codes)

    @staticmethod
    def _grant(subscriptions: list[Subscription], reason_codes: list[ReasonCode]) -> None:
        for subscription, code in zip(subscriptions, reason_codes):
            if code.is_failure:
                log.error("broker refused subscription %s: %s (0x%02x)",
                          subscription.topic_filter, code.getName(), code.value)
            else:
                subscription._active.set()

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        self.received += 1
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; paho would hand it on
            self._dropped(lambda more: log.warning(
                "dropped message on a topic that is not UTF-8%s", more))
            return
        try:
            payload = decode_payload(message.payload, max_bytes=self.max_payload_bytes,
                                     max_depth=self.max_depth)
        except PayloadRejected as exc:
            reason = str(exc)
            self._dropped(lambda more: log.warning("dropped message on %s: %s%s",
                                                   topic[:200], reason, more))
            return
        levels = topic.split("/")
        with self._lock:
            matching = [s for s in self._subscriptions.values() if s.matches(levels)]
        inbound = InboundMessage(self.relative(topic), payload, bool(message.retain),
                                 message.qos)
        for subscription in matching:
            try:
                subscription.handler(inbound)
            except Exception:  # a handler bug must not kill the network thread
                self._handler_failures(functools.partial(
                    _log_handler_failure, subscription.topic_filter, topic))

    # -- connection state ------------------------------------------------------------------

    def _on_pre_connect(self, client, userdata) -> None:
        """Aim paho at the broker for this attempt: the first after `start`, then the next.

        paho connects to one host and refuses a new one while it is connecting (its ``host``
        setter), yet reads the address from these two attributes when it opens the socket (and
        checks the TLS name against the host): paho 2.x, tested by test_mqtt_failover.py.
        """
        if self._attempts:
            self._current = (self._current + 1) % len(self.brokers)
        self._attempts += 1
        if len(self.brokers) > 1:
            log.info("MQTT %s: trying broker %s (%d of %d)", self.client_id, self.broker,
                     self._current + 1, len(self.brokers))
        client._host, client._port = self.brokers[self._current]

    def _on_connect(self, client, userdata, flags, reason_code: ReasonCode, properties) -> None:
        if reason_code.is_failure:
            self.last_connect_error = f"{reason_code.getName()} (0x{reason_code.value:02x})"
            self._error(f"broker refused the connection: {self.last_connect_error}")
            log.error("broker %s refused connection: %s", self.broker, self.last_connect_error)
            return
        self.last_connect_error = None
        self.connections += 1
        moved = self._connected_to is not None and self._connected_to != self._current
        if moved:
            self.failovers += 1
        self._connected_to = self._current
        of = (f" (broker {self._current + 1} of {len(self.brokers)})"
              if len(self.brokers) > 1 else "")
        if moved:
            log.warning("connected to %s as %s%s: failed over", self.broker, self.client_id, of)
        else:
            log.info("connected to %s as %s%s", self.broker, self.client_id, of)
        self._set_connected(True)
        with self._lock:
            subscriptions = list(self._subscriptions.values())
            self._early_subacks.clear()
        for subscription in subscriptions:
            subscription._active.clear()
        self._send_subscribe(subscriptions)

    def _on_connect_fail(self, client, userdata) -> None:
        self._error(f"cannot reach the broker at {self.broker}")

    def _on_disconnect(self, client, userdata, flags, reason_code: ReasonCode,
                       properties) -> None:
        self._lost_connection()
        if reason_code.value != 0:
            self._error(f"disconnected: {reason_code.getName()}")
            log.warning("disconnected from %s: %s; reconnecting%s", self.broker,
                        reason_code.getName(), " (to the next broker)" if len(self.brokers) > 1
                        else "")

    def _lost_connection(self) -> None:
        self._set_connected(False)
        with self._lock:
            subscriptions = list(self._subscriptions.values())
            self._suback_waiters.clear()
        for subscription in subscriptions:
            subscription._active.clear()


__all__ = ["Delivery", "Handler", "InboundMessage", "LinkHealth", "MAX_DEPTH",
           "MAX_PAYLOAD_BYTES", "MQTT_V311", "MQTT_V5", "MqttLink", "PayloadRejected",
           "Subscription", "decode_payload", "iso_now"]
