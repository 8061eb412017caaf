"""`hotline run --config FILE`: the engine against a real Asterisk's ARI until stopped.

Wiring only, in start order (stopped in reverse):
- one Prometheus registry for everything the engine exports;
- the SQL records writer (refuses a database whose schema it does not know), and the
  recordings index, rebuilt from the database, fed by finished recordings;
- the event journal and the live KPI fold: every ARI event and every HotlineAgentState
  line reach both, in the same order, so `/metrics` and a later `hotline kpi report` over
  the journal count the same calls;
- MQTT if `mqtt.enabled` (queue stats from the Switchboard and the fold);
- the ARI client, the engine, and its supervised event connection (reconcile on connect);
- the HTTP server on `[http]` (uvicorn in the engine's loop): the role-checked API
  (`ari_app.api`, over `ari_app.shell.control.EngineControl`, audit rows to the records writer),
  the web console under `/console` (`ari_app.console`, `ari_app.shell.web_console`) and
  `GET /metrics`, unauthenticated, as Prometheus scrapes.

`hotline demo` reuses `running()` with the simulator instead of Asterisk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CollectorRegistry, Counter

from ari_app.api import create_api
from ari_app.api.audit import AuditSink
from ari_app.api.callback_routes import CallbackDesk
from ari_app.api.qa_routes import QaDesk
from ari_app.api.server import serve_api
from ari_app.api.workorder_routes import WorkOrderDesk
from ari_app.ari.client import AriClient
from ari_app.ari.connection import (
    Backoff,
    ConnectionState,
    SupervisedConnection,
    register_metrics,
)
from ari_app.callflow.adoption import AgentSession, CallFacts
from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.console import Board
from ari_app.domain.events import EventSink
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.mqtt.notifier import MqttNotifier
from ari_app.mqtt.sink import MqttEventSink
from ari_app.qa.service import Qa
from ari_app.records.qa import SqlQaStore
from ari_app.records.recovery import live_calls, mark_interrupted, saved_agents
from ari_app.records.schema import SchemaError
from ari_app.records.sink import RecordsEventSink
from ari_app.records.surveys import SqlSurveyStore
from ari_app.records.types import AuditRecord
from ari_app.records.writer import RecordWriter, writer_from_config
from ari_app.shell.callbacks import RecentCalls, callback_desk, callback_records
from ari_app.shell.control import SwitchboardControl
from ari_app.shell.engine import Engine, ari_event_types
from ari_app.shell.journal_sink import EventFanout, Journal, JournalAgentStates
from ari_app.shell.live_kpi import LiveKpi, kpi_params, queue_stats
from ari_app.shell.standby import hold_or_wait
from ari_app.shell.web_console import add_console
from ari_app.shell.workorders import CHECK_SECONDS, check_every, workorder_desk
from kpi.journal import JournalWriter
from kpi.metrics import render_metrics
from recordings.index import RecordingIndex, load_known
from recordings.retention import purge_every
from recordings.sink import LoopSink, RecordingsSink

PURGE_SECONDS = 3600.0

log = logging.getLogger(__name__)


@dataclass
class Running:
    """What `running()` started, for `hotline run`, the demo and tests."""

    engine: Engine
    connection: SupervisedConnection
    registry: CollectorRegistry
    kpi: LiveKpi
    api_url: str = ""
    writer: RecordWriter | None = None
    index: RecordingIndex | None = None
    recordings: RecordingsSink | None = None
    notifier: MqttNotifier | None = None
    journal_path: Path | None = None
    adopted: asyncio.Task[None] | None = None  # records and recordings caught up after start
    console: Board | None = None  # the web console's live state (with the API)


class _Events:
    """The engine's event stream into the journal and the live fold; a failure there is
    logged and counted and never keeps an event from call control."""

    def __init__(self, target: Journal, registry: CollectorRegistry) -> None:
        self.target = target
        self.failures = 0
        self.errors = Counter(
            "hotline_journal_errors_total",
            "Events that could not be written to the journal",
            registry=registry,
        )

    def append(self, event: Mapping[str, Any]) -> None:
        try:
            self.target.append(event)
        except Exception:
            if not self.failures:  # the first one with its traceback, then counted
                log.exception("journal: cannot write an event")
            self.failures += 1
            self.errors.inc()


class _LoggedAudit:
    """Audit rows when records are off (the demo's `--no-records`): logged, not lost."""

    def submit(self, record: AuditRecord) -> None:
        log.info("audit: %s %s %s %s/%s %s", record.actor, record.role, record.action,
                 record.object_type, record.object_id, record.detail)


def http_app(config: Config, control: SwitchboardControl, audit: AuditSink,
             registry: CollectorRegistry, clock: Callable[[], datetime],
             workorders: WorkOrderDesk | None = None,
             callbacks: CallbackDesk | None = None, surveys: SqlSurveyStore | None = None,
             qa: QaDesk | None = None) -> FastAPI:
    """The role-checked API plus `GET /metrics`, which is outside every policy: Prometheus
    scrapes without credentials, and the exposition holds no caller data (labels are
    queue and agent ids only)."""
    app = create_api(config, control, audit, clock=clock, workorders=workorders,
                     callbacks=callbacks, surveys=surveys, qa=qa)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render_metrics(registry)
        return Response(body, media_type=content_type)

    return app


@asynccontextmanager
async def running(
    config: Config,
    *,
    ari_url: str | None = None,
    records: bool = True,
    journal: bool = True,
    api: bool = True,
    extra_sinks: Sequence[EventSink] = (),
    clock: Any = None,
) -> AsyncIterator[Running]:
    """The engine connected and serving; everything closed in reverse order on exit.

    Raises SchemaError (records on, database schema unknown), OSError (HTTP port taken).
    """
    async with AsyncExitStack() as stack:
        loop = asyncio.get_running_loop()
        registry = CollectorRegistry()
        sinks: list[EventSink] = list(extra_sinks)
        engine: Engine | None = None

        def now() -> float:
            return engine.now() if engine is not None else time.time()

        writer: RecordWriter | None = None
        index: RecordingIndex | None = None
        recordings: RecordingsSink | None = None
        notifier: MqttNotifier | None = None
        if records:
            writer = writer_from_config(config, registry)  # SchemaError: refuse to start
            await stack.enter_async_context(writer)
            sinks.append(RecordsEventSink(writer, config.engine.site))
            callbacks = await callback_records(stack, writer.engine)
            sinks.append(callbacks)
            recent = RecentCalls()  # a callback asked for on a call just handled
            sinks.append(recent)
            known = await asyncio.to_thread(load_known, writer.engine)
            index = RecordingIndex(
                LoopSink(writer, loop), retention_days=config.recordings.retention_days,
                known=known,
            )
            recordings = RecordingsSink(index, config.recordings.dir, registry)
            sinks.append(recordings)
            stack.push_async_callback(recordings.wait_idle)  # before the writer stops

        kpi = LiveKpi(
            registry,
            kpi_params(config),
            now=now,
            queues=[q.name for q in config.queues],
            agents=[a.id for a in config.agents],
        )
        await stack.enter_async_context(kpi)
        journal_path = None
        targets: list[Journal] = [kpi]  # first: it never raises
        if journal:
            journal_path = config.engine.data_dir / "journal" / "events.jsonl"
            policy = CallerNumberPolicy(
                config.engine.caller_number_storage, config.engine.caller_number_salt.resolve()
            )
            writer_journal = JournalWriter(
                journal_path,
                max_bytes=config.engine.journal_max_bytes,
                caller_number=None if policy.storage == "full" else policy.store,
            )
            stack.callback(writer_journal.close)
            targets.append(writer_journal)
        events = _Events(EventFanout(*targets), registry)
        sinks.append(JournalAgentStates(events, config.engine.app))

        if config.mqtt.enabled:
            def stats() -> Mapping[str, Mapping[str, Any]]:
                assert engine is not None
                return queue_stats(engine.core, kpi.tallies, engine.now())

            notifier = MqttNotifier(
                config.mqtt, site=config.engine.site, registry=registry, stats=stats
            )
            await stack.enter_async_context(notifier)
            sinks.append(MqttEventSink(notifier))

        client = AriClient(
            ari_url or config.ari.url,
            config.ari.username,
            config.ari.password.resolve(),
            config.engine.app,
        )
        await stack.enter_async_context(client)
        engine = Engine(config, client, sinks=sinks, clock=clock)
        stack.push_async_callback(engine.close)
        started = engine.now()
        callback_api: CallbackDesk | None = None
        if writer is not None:
            await _resume(engine, writer)
            pending = await asyncio.to_thread(callbacks.store.pending)
            engine.restore_callbacks(pending)  # a restart loses no callback
            callback_api = callback_desk(engine, callbacks, recent)

        async def on_event(event: Mapping[str, Any]) -> None:
            events.append(event)
            engine.handle_event(event)

        if index is not None:  # retention: purged hourly on the loop clock, off the loop
            purge_task = asyncio.create_task(purge_every(
                index, PURGE_SECONDS, lambda: datetime.fromtimestamp(now(), UTC),
                purged=Counter("hotline_recordings_purged_total",
                               "Expired recordings deleted (or found already gone)",
                               registry=registry),
                errors=Counter("hotline_recordings_purge_errors_total",
                               "Retention purges that failed, and files not deleted",
                               registry=registry),
            ), name="recordings-retention")
            stack.push_async_callback(_cancel, purge_task)
        desk = None
        if writer is not None:  # work orders: reminders and escalation on the loop clock
            desk = workorder_desk(config, writer.engine, notifier, callback_api)
            check_task = asyncio.create_task(check_every(
                desk, CHECK_SECONDS, lambda: datetime.fromtimestamp(now(), UTC),
            ), name="workorders-deadlines")
            stack.push_async_callback(_cancel, check_task)

        conn = SupervisedConnection(
            client, on_event, engine.on_reconcile,
            backoff=Backoff(cap=config.ari.reconnect_max_seconds),
            stable_after=config.ari.reconnect_stable_seconds,
            event_types=ari_event_types(engine),  # only what the engine and the KPIs read
        )
        register_metrics(conn, registry)  # drops and downtime (callers took the fallback)
        await stack.enter_async_context(conn)
        result = Running(
            engine, conn, registry, kpi, writer=writer, index=index, recordings=recordings,
            notifier=notifier, journal_path=journal_path,
        )
        if api:
            eng = engine

            def wall() -> datetime:  # token expiry, throttle and audit on the engine's clock
                return datetime.fromtimestamp(eng.now(), UTC)

            control = SwitchboardControl(engine, index, writer.wait_idle if writer else None)
            surveys = qa = None
            if writer is not None:  # the surveys' list and QA read the records database
                surveys = SqlSurveyStore(writer.engine)
                qa_store = SqlQaStore(writer.engine)
                teams = {a.id: a.team for a in config.agents}
                qa = QaDesk(Qa(qa_store, config.calendar.timezone, teams), qa_store,
                            config.engine.site)
            app = http_app(config, control, writer or _LoggedAudit(), registry, wall, desk,
                           callback_api, surveys, qa)
            result.console = await add_console(stack, app, engine, kpi, control)
            server = await serve_api(app, config.http.host, config.http.port)
            stack.push_async_callback(server.stop)
            stack.callback(result.console.close)  # open event streams end before the stop
            result.api_url = f"http://{config.http.host}:{server.port}"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        if writer is not None:
            catch_up = asyncio.create_task(
                _after_adoption(engine, writer, index, config.recordings.dir, started),
                name="adoption-records",
            )
            stack.push_async_callback(_cancel, catch_up)
            result.adopted = catch_up
        yield result


async def _resume(engine: Engine, writer: RecordWriter) -> None:
    """Before the first connect: the agents' saved sessions, and what the records know of
    the calls that were live (a restart adopts them; see ari_app.callflow.adoption)."""
    agents = await asyncio.to_thread(saved_agents, writer.engine)
    engine.restore_agents(
        [AgentSession(a.agent_id, a.state, a.reason, a.device, a.since) for a in agents]
    )
    live = await asyncio.to_thread(live_calls, writer.engine)
    engine.adoption_facts = {
        c.call_id: CallFacts(c.arrived_at, c.answered_at, c.agent_id) for c in live.values()
    }
    if live:
        log.info("records: %d call(s) were live; adopting those Asterisk still holds", len(live))


async def _after_adoption(
    engine: Engine,
    writer: RecordWriter,
    index: RecordingIndex | None,
    directory: Path,
    started: float,
) -> None:
    """Once the first reconcile adopted what Asterisk held: calls that were live and were
    not adopted are marked `interrupted`, and the recordings index catches up with the
    recordings directory."""
    await engine.reconciled.wait()
    await writer.wait_idle()  # the adopted calls' own rows are written first
    keep = set(engine.core.calls) | set(engine.core.flow.ending.wrapping)
    at = engine.now()
    gone = await asyncio.to_thread(
        mark_interrupted, writer.engine, keep, at, arrived_before=started
    )
    if gone:
        log.warning("records: %d call(s) cut by the restart marked interrupted", len(gone))
    if index is not None:
        running = {c.recording for c in engine.core.calls.values() if not c.recording_done}
        added = await asyncio.to_thread(index.catch_up, directory, running)
        if added:
            log.info("recordings: %d finished recording(s) indexed on catch-up", len(added))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def serve(
    config: Config, *, ready: Callable[[Running], None] | None = None
) -> int:
    """`hotline run`'s body: serve until SIGINT/SIGTERM (returns 0) or until cancelled
    (everything is stopped in order, then CancelledError goes on). `ready` is told once
    the engine is connected and serving."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        if config.standby.enabled:
            await hold_or_wait(config, stop, lambda leave: _hold(config, leave, ready))
        else:
            await _hold(config, stop, ready)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    return 0


async def _hold(
    config: Config, leave: asyncio.Event, ready: Callable[[Running], None] | None
) -> None:
    """The engine connected and serving until `leave` is set (a stop signal; with
    `[standby]`, also the standby lock lost)."""
    async with running(config) as r:
        log.info(
            "engine running: ARI %s, app %s, HTTP %s (/metrics and the API)",
            config.ari.url,
            config.engine.app,
            r.api_url,
        )
        if ready is not None:
            ready(r)
        try:
            await leave.wait()
        finally:
            log.info("stopping: %d live call(s)", r.engine.live_calls())
            # call control stops at once (no event in, no timer or request out); the rest
            # of the engine then closes in order
            await r.connection.stop()
            await r.engine.close()


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="run the call-control engine against Asterisk's ARI")
    parser.add_argument("--config", type=Path, required=True, help="engine TOML config")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        exc.print_errors()
        return 2
    try:
        return asyncio.run(serve(config))
    except ConfigError as exc:
        exc.print_errors()
        return 2
    except SchemaError as exc:
        print(f"error: refusing to start: {exc}")
        return 1
    except Exception as exc:  # the message, not a traceback, for a start-up failure
        log.debug("start-up failed", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}")
        return 1
