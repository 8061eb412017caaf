"""The MQTT publisher: call control hands it events and never waits for the broker.

Calls to `call_event`, `agent_state` are synchronous and O(1): they build the message and
put it in a bounded outbox. A background task connects (TLS and username/password by
config), publishes at QoS 1 in order, and reconnects with exponential backoff. While the
broker is away, call events queue up to `outbox_size`; beyond that the oldest are dropped
and counted. Retained state (agents, queue stats) is never dropped: only the newest
message per topic is kept, since that is all a retained topic shows anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Self

import aiomqtt
from prometheus_client import CollectorRegistry, Counter, Gauge

from ari_app.config.settings import MqttSettings
from ari_app.domain.backoff import Backoff
from ari_app.domain.events import CallbackAttempted, CallbackChanged, SurveyFinished
from ari_app.mqtt import messages
from ari_app.mqtt.messages import Message, MessageError, Scalar

log = logging.getLogger(__name__)

StatsSource = Callable[[], Mapping[str, Mapping[str, Scalar]]]
"""Returns {queue name: {figure: value}} for the periodic retained stats."""


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.published = Counter(
            "hotline_mqtt_published_total", "Messages the broker acknowledged (QoS 1)",
            registry=registry,
        )
        self.dropped = Counter(
            "hotline_mqtt_dropped_total",
            "Messages not published: outbox full while the broker was away, or invalid",
            ["reason"], registry=registry,
        )
        self.connected = Gauge(
            "hotline_mqtt_connected", "1 while connected to the broker", registry=registry
        )
        self.outbox = Gauge(
            "hotline_mqtt_outbox", "Messages waiting for the broker", registry=registry
        )


class MqttNotifier:
    """Use as `async with MqttNotifier(settings, site=...) as n:` from the event loop."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        site: str,
        registry: CollectorRegistry | None = None,
        stats: StatsSource | None = None,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        publish_timeout_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.site = site
        self.stats_source = stats
        self.retry_initial = retry_initial_seconds
        self.retry_max = retry_max_seconds
        self.publish_timeout = publish_timeout_seconds
        self._events: deque[Message] = deque()
        self._retained: OrderedDict[str, Message] = OrderedDict()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.connected = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._identifier = f"hotline-{site}-{uuid.uuid4().hex[:8]}"
        self.metrics = NotifierMetrics(registry if registry is not None else CollectorRegistry())
        self.metrics.outbox.set_function(lambda: float(self.outbox_size))

    def _set_connected(self, up: bool) -> None:
        self.connected = up
        self.metrics.connected.set(1 if up else 0)

    @property
    def outbox_size(self) -> int:
        return len(self._events) + len(self._retained)

    # --- what call control calls (sync, never raises, never waits) ---------------------

    def call_event(
        self,
        call_id: str,
        event: str,
        at: datetime | float,
        *,
        queue: str,
        agent_id: str = "",
        caller: str = "",
        extra: Mapping[str, Scalar] | None = None,
    ) -> None:
        try:
            msg = messages.call_event(self.site, call_id, event, at, queue=queue,
                                      agent_id=agent_id, caller=caller, extra=extra)
        except (MessageError, TypeError) as exc:
            self._invalid(exc)
            return
        self._stream(msg)

    def _stream(self, msg: Message) -> None:
        if len(self._events) >= self.settings.outbox_size:
            self._events.popleft()
            self.metrics.dropped.labels("outbox_full").inc()
        self._events.append(msg)
        self._idle.clear()
        self._wake.set()

    def workorder_event(
        self, order_id: str, event: str, at: datetime, *, order_type: str, department: str,
        state: str, actor: str, due_at: datetime,
    ) -> None:
        try:
            msg = messages.workorder_event(
                self.site, order_id, event, at, order_type=order_type, department=department,
                state=state, actor=actor, due_at=due_at,
            )
        except (MessageError, TypeError) as exc:
            self._invalid(exc)
            return
        self._stream(msg)

    def callback_event(self, event: CallbackChanged | CallbackAttempted) -> None:
        """A callback moved or an attempt ended (a stream; the caller masked)."""
        try:
            msg = messages.callback_message(self.site, event)
        except (MessageError, TypeError, ValueError) as exc:
            self._invalid(exc)
            return
        self._stream(msg)

    def survey_finished(self, event: SurveyFinished) -> None:
        """The survey's result, and a supervisors' alert if it scored low (a stream)."""
        try:
            msgs = messages.survey_messages(self.site, event)
        except (MessageError, TypeError, ValueError) as exc:
            self._invalid(exc)
            return
        for msg in msgs:
            self._stream(msg)

    def agent_state(
        self, agent_id: str, state: str, at: datetime | float, *, reason: str = "",
        call_id: str = "",
    ) -> None:
        try:
            msg = messages.agent_state(self.site, agent_id, state, at, reason=reason,
                                       call_id=call_id)
        except (MessageError, TypeError) as exc:
            self._invalid(exc)
            return
        self._retain(msg)

    def queue_stats(self, queue: str, at: datetime | float, stats: Mapping[str, Scalar]) -> None:
        try:
            msg = messages.queue_stats(self.site, queue, at, stats)
        except (MessageError, TypeError) as exc:
            self._invalid(exc)
            return
        self._retain(msg)

    def _retain(self, msg: Message) -> None:
        self._retained.pop(msg.topic, None)
        self._retained[msg.topic] = msg
        self._idle.clear()
        self._wake.set()

    def _invalid(self, exc: Exception) -> None:
        self.metrics.dropped.labels("invalid").inc()
        log.warning("mqtt: event not published: %s", exc)

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if not self._tasks:
            self._stopping = False
            self._tasks.append(asyncio.create_task(self._connection_loop(), name="mqtt"))
            if self.stats_source is not None:
                self._tasks.append(asyncio.create_task(self._stats_loop(), name="mqtt-stats"))

    async def stop(self, flush_seconds: float = 2.0) -> None:
        """Give queued messages `flush_seconds` to go out, then disconnect."""
        if not self._tasks:
            return
        if self.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wait_idle(), flush_seconds)
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._set_connected(False)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Until the outbox is empty and the broker acknowledged the last message."""
        await self._idle.wait()

    # --- the shell -------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        tls: ssl.SSLContext | None = None
        if s.tls:
            tls = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        password = s.password.resolve() if s.username else None
        return aiomqtt.Client(
            s.host, s.port, username=s.username or None, password=password,
            identifier=self._identifier, tls_context=tls, keepalive=15,
            timeout=self.publish_timeout,
        )

    async def _connection_loop(self) -> None:
        backoff = Backoff(initial=self.retry_initial, cap=self.retry_max, jitter=0.0)
        failures = 0  # sleeps since the last connection: the next waits backoff.delay(n)
        while not self._stopping:
            try:
                async with self._client() as client:
                    self._set_connected(True)
                    log.info("mqtt: connected to %s:%d", self.settings.host, self.settings.port)
                    failures = 0
                    await self._publish_forever(client)
            except aiomqtt.MqttError as exc:
                if self.connected:
                    log.warning("mqtt: connection to %s:%d lost (%s); retrying",
                                self.settings.host, self.settings.port, type(exc).__name__)
                else:
                    log.info("mqtt: cannot connect to %s:%d (%s); retry in %.1f s",
                             self.settings.host, self.settings.port, exc,
                             backoff.delay(failures))
            self._set_connected(False)
            await asyncio.sleep(backoff.delay(failures))
            failures += 1

    async def _publish_forever(self, client: aiomqtt.Client) -> None:
        while True:
            msg = self._take()
            if msg is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await client.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
            except aiomqtt.MqttError:
                self._put_back(msg)  # at least once: it goes first after reconnecting
                raise
            except asyncio.CancelledError:
                self._put_back(msg)
                raise
            self.metrics.published.inc()

    def _take(self) -> Message | None:
        if self._retained:
            return self._retained.popitem(last=False)[1]
        if self._events:
            return self._events.popleft()
        return None

    def _put_back(self, msg: Message) -> None:
        if msg.retain:
            if msg.topic not in self._retained:  # a newer one wins
                self._retained[msg.topic] = msg
                self._retained.move_to_end(msg.topic, last=False)
        else:
            self._events.appendleft(msg)

    async def _stats_loop(self) -> None:
        assert self.stats_source is not None
        while True:
            try:
                figures = self.stats_source()
                now = datetime.now(UTC)
                for queue, stats in figures.items():
                    self.queue_stats(queue, now, stats)
            except Exception:  # a broken stats source must not stop the others
                log.exception("mqtt: queue stats source failed")
            await asyncio.sleep(self.settings.stats_interval_seconds)
