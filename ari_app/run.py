"""`hotline run --config FILE`: the engine against a real Asterisk's ARI until stopped.

Wiring only: the ARI client and its supervised event connection (reconcile on every
connect), the event journal (every ARI event, plus the engine's HotlineAgentState lines),
the SQL records writer, MQTT if enabled, and the agent API. `hotline demo` reuses
`running()` with the simulator instead of Asterisk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.agent_api import serve
from ari_app.ari.client import AriClient
from ari_app.ari.connection import ConnectionState, SupervisedConnection
from ari_app.config import Config, ConfigError, load_config
from ari_app.domain import EventSink
from ari_app.engine import Engine
from ari_app.sinks import JournalAgentStates, RecordsSink

log = logging.getLogger(__name__)


@dataclass
class Running:
    engine: Engine
    connection: SupervisedConnection
    api_url: str = ""
    closers: list[Any] = field(default_factory=list)


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
    """The engine connected and serving; everything closed in reverse order on exit."""
    async with AsyncExitStack() as stack:
        sinks: list[EventSink] = list(extra_sinks)
        writer_journal = None
        if journal:
            from kpi.journal import JournalWriter

            writer_journal = JournalWriter(
                config.engine.data_dir / "journal" / "events.jsonl",
                max_bytes=config.engine.journal_max_bytes,
            )
            stack.callback(writer_journal.close)
            sinks.append(JournalAgentStates(writer_journal, config.engine.app))
        if records:
            from ari_app.records.writer import writer_from_config

            writer = writer_from_config(config)
            await stack.enter_async_context(writer)
            sinks.append(RecordsSink(writer, config.engine.site))
        if config.mqtt.enabled:
            from ari_app.mqtt.domain_sink import MqttEventSink
            from ari_app.mqtt.notifier import MqttNotifier

            notifier = MqttNotifier(config.mqtt, site=config.engine.site)
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

        async def on_event(event: Mapping[str, Any]) -> None:
            if writer_journal is not None:
                writer_journal.append(event)
            engine.handle_event(event)

        conn = SupervisedConnection(client, on_event, engine.on_reconcile)
        await stack.enter_async_context(conn)
        result = Running(engine, conn)
        if api:
            runner = await serve(engine, config.http.host, config.http.port)
            stack.push_async_callback(runner.cleanup)
            result.api_url = f"http://{config.http.host}:{config.http.port}"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        yield result


async def _main(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running(config) as r:
        log.info(
            "engine running: ARI %s, app %s, agent API %s",
            config.ari.url,
            config.engine.app,
            r.api_url,
        )
        await stop.wait()
        log.info("stopping: %d live call(s)", r.engine.live_calls())
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="run the call-control engine against Asterisk's ARI")
    parser.add_argument("--config", type=Path, required=True, help="engine TOML config")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"error: {line}")
        return 2
    try:
        return asyncio.run(_main(config))
    except ConfigError as exc:
        for line in exc.errors:
            print(f"error: {line}")
        return 2
    except Exception as exc:  # the message, not a traceback, for a start-up failure
        log.debug("start-up failed", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}")
        return 1
