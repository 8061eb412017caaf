"""The console's live state: a snapshot, then numbered deltas, from the engine's own events.

`Board` is an `EventSink` of the engine's domain events and a listener of the KPI fold's
facts. Either one marks the board dirty and returns at once; the board's task then reads the
engine through `EngineControl` (agents, live calls, queues), adds today's figures and the
monitoring sessions and transfers it followed from the events, and compares the result with
what it had: every item that changed becomes one delta with the next sequence number, kept
in a ring buffer.

Items are JSON objects under keys: `agent/ID`, `stats/agent/ID`, `call/ID`, `queue/NAME`,
`stats/queue/NAME`, `series/NAME`, `monitor/ID`. A stream (`stream`) sends a viewer the
snapshot of what they may see, then the deltas as they come; a client that reconnects with
the last id it got (`Last-Event-ID`, `EPOCH:SEQ`) is sent the deltas after it from the ring
buffer (a fresh snapshot if they are gone, or the engine restarted): nothing lost, nothing
twice. Every message says the sequence number of the one before it on that stream
(`after`), so a client can prove it missed nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ari_app.api.auth import Principal
from ari_app.api.control import AgentInfo, CallInfo, EngineControl, QueueInfo
from ari_app.config.settings import Config
from ari_app.console.figures import TodayFigures
from ari_app.domain.events import (
    DomainEvent,
    MonitorEnded,
    MonitorModeChanged,
    MonitorStarted,
    TransferCompleted,
    TransferFailed,
    TransferStarted,
)
from kpi.facts import Fact
from kpi.params import KpiParams

log = logging.getLogger(__name__)

Item = dict[str, Any]
KEEP_ALIVE_SECONDS = 15.0
RETRY_MS = 1000


@dataclass(frozen=True, slots=True)
class Delta:
    seq: int
    key: str
    value: Item | None  # None: the item is gone
    previous: Item | None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a queue's tile turns red: longest wait over `longest_wait_seconds`, service
    level under `service_level_target`; an agent's: `rona_streak` RONAs in a row."""

    longest_wait_seconds: float = 60.0
    service_level_target: float = 0.8
    rona_streak: int = 2

    def as_json(self) -> Item:
        return {
            "longest_wait_seconds": self.longest_wait_seconds,
            "service_level_target": self.service_level_target,
            "rona_streak": self.rona_streak,
        }


def thresholds_of(config: Config) -> dict[str, Thresholds]:
    """Each queue's wallboard thresholds (`queues[].wallboard`)."""
    return {
        q.name: Thresholds(
            q.wallboard.longest_wait_seconds,
            q.wallboard.service_level_target,
            q.wallboard.rona_streak,
        )
        for q in config.queues
    }


def console_timezone(config: Config) -> ZoneInfo:
    """The day the console's "today" means: `console.timezone`, else the first queue's
    opening-hours zone, else Asia/Shanghai (the hours' default)."""
    name = config.console.timezone or next(
        (q.hours.timezone for q in config.queues if q.hours is not None), "Asia/Shanghai"
    )
    return ZoneInfo(name)


def spoken(media: Iterable[str], values: Mapping[str, str]) -> str:
    """A greeting's media list as the caller heard it: `sound:hotline-welcome`,
    `digits:{agent_id}` -> `[hotline-welcome] 1-0-0-1`."""
    parts = []
    for item in media:
        for name, value in values.items():
            item = item.replace("{" + name + "}", value)
        scheme, _, rest = item.partition(":")
        parts.append("-".join(rest) if scheme in ("digits", "number") else f"[{rest}]")
    return " ".join(parts)


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else round(at.timestamp(), 3)


class Board:
    """The live state and its deltas; an `EventSink` (`publish`) and a facts listener
    (`facts`). Run it with `async with board:` on the engine's loop."""

    def __init__(
        self,
        config: Config,
        control: EngineControl,
        params: KpiParams,
        *,
        now: Callable[[], float],
        buffer: int = 10_000,
    ) -> None:
        self.config = config
        self.control = control
        self.params = params
        self.now = now
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.items: dict[str, Item] = {}
        self.deltas: deque[Delta] = deque(maxlen=buffer)
        self.figures = TodayFigures(params, console_timezone(config))
        self.thresholds = thresholds_of(config)
        self.team_of = {a.id: a.team for a in config.agents if a.team}
        self._greetings = {q.name: q.greeting for q in config.queues}
        self._names = {a.id: a.name for a in config.agents}
        self.transfers: dict[str, Item] = {}
        self.monitors: dict[str, Item] = {}
        self.refreshes = 0
        self._dirty = asyncio.Event()
        self._news = asyncio.Event()
        self._cut = 0
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ inputs

    def publish(self, event: DomainEvent) -> None:
        """EventSink: note what the control protocol does not tell, then refresh soon."""
        if isinstance(event, MonitorStarted):
            self.monitors[event.session_id] = {
                "session_id": event.session_id,
                "call_id": event.call_id,
                "agent_id": event.agent_id,
                "team": self.team_of.get(event.agent_id, ""),
                "mode": event.mode,
                "device": event.device,
                "started_by": event.started_by,
                "started": round(event.at, 3),
            }
        elif isinstance(event, MonitorModeChanged):
            if event.session_id in self.monitors:
                self.monitors[event.session_id] = {
                    **self.monitors[event.session_id], "mode": event.mode
                }
        elif isinstance(event, MonitorEnded):
            self.monitors.pop(event.session_id, None)
        elif isinstance(event, TransferStarted):
            self.transfers[event.call_id] = {
                "kind": event.kind, "target": event.label or event.target, "state": "started",
            }
        elif isinstance(event, TransferCompleted | TransferFailed):
            state = "completed" if isinstance(event, TransferCompleted) else event.result
            self.transfers[event.call_id] = {
                "kind": event.kind, "target": event.label or event.target, "state": state,
            }
        self._dirty.set()

    def facts(self, facts: list[Fact]) -> None:
        """The KPI fold's facts (`LiveKpi.listeners`)."""
        self.figures.feed(facts)
        self._dirty.set()

    def touch(self) -> None:
        """Refresh soon (e.g. after an action that may publish nothing)."""
        self._dirty.set()

    # ------------------------------------------------------------------ state

    def _agent(self, a: AgentInfo) -> Item:
        return {
            "agent_id": a.agent_id,
            "name": a.name,
            "team": a.team,
            "state": a.state,
            "reason": a.reason,
            "device": a.device,
            "since": _epoch(a.since),
            "queues": list(a.queues),
            "call_id": a.call_id,
        }

    def _agent_stats(self, agent_id: str, queues: Iterable[str]) -> Item:
        figures = self.figures.agent(agent_id)
        serves = tuple(queues) or tuple(self.thresholds)  # none named: every queue
        limits = [self.thresholds[q].rona_streak for q in serves if q in self.thresholds]
        limit = min(limits, default=Thresholds().rona_streak)
        return {
            "agent_id": agent_id,
            "team": self.team_of.get(agent_id, ""),
            **figures,
            "rona_streak_limit": limit,
            "alert_rona": figures["rona_streak"] >= limit,
        }

    def _call(self, c: CallInfo) -> Item:
        agent = c.agent_id or ""
        greeting = ""
        if agent and c.answered is not None:
            greeting = spoken(
                self._greetings.get(c.queue, ()),
                {
                    "agent_id": agent,
                    "agent_name": self._names.get(agent, ""),
                    "queue": c.queue,
                    "organisation": self.config.engine.organisation,
                },
            )
        return {
            "call_id": c.call_id,
            "queue": c.queue,
            "caller": c.caller,
            "state": c.state,
            "arrival": _epoch(c.arrival),
            "answered": _epoch(c.answered),
            "wait_seconds": (
                None
                if c.answered is None
                else round((c.answered - c.arrival).total_seconds(), 1)
            ),
            "agent_id": agent,
            "team": self.team_of.get(agent, ""),
            "greeting": greeting,
            "transfer": self.transfers.get(c.call_id),
        }

    def _queue(self, q: QueueInfo, calls: list[CallInfo]) -> Item:
        waiting = [c for c in calls if c.queue == q.name and c.state in ("queued", "offering")]
        limits = self.thresholds.get(q.name, Thresholds())
        return {
            "name": q.name,
            "waiting": q.waiting,
            "oldest_arrival": min((_epoch(c.arrival) or 0.0 for c in waiting), default=None),
            "agents_logged_in": q.agents_logged_in,
            "agents_available": q.agents_available,
            "thresholds": limits.as_json(),
        }

    def _queue_stats(self, name: str) -> Item:
        figures = self.figures.queue(name)
        sl = figures["service_level"]
        target = self.thresholds.get(name, Thresholds()).service_level_target
        return {"name": name, **figures, "alert_service_level": sl is not None and sl < target}

    async def build(self) -> dict[str, Item]:
        agents = list(await self.control.agents())
        calls = list(await self.control.live_calls())
        queues = list(await self.control.queues())
        items: dict[str, Item] = {}
        for a in agents:
            items[f"agent/{a.agent_id}"] = self._agent(a)
            items[f"stats/agent/{a.agent_id}"] = self._agent_stats(a.agent_id, a.queues)
        live = {c.call_id for c in calls}
        for c in calls:
            items[f"call/{c.call_id}"] = self._call(c)
        for q in queues:
            items[f"queue/{q.name}"] = self._queue(q, calls)
            items[f"stats/queue/{q.name}"] = self._queue_stats(q.name)
            items[f"series/{q.name}"] = {"name": q.name, **self.figures.series(q.name)}
        for sid, m in self.monitors.items():
            items[f"monitor/{sid}"] = m
        for call_id in [c for c in self.transfers if c not in live]:
            del self.transfers[call_id]
        return items

    async def refresh(self) -> int:
        """Rebuild the state and append a delta per changed item; returns how many."""
        new = await self.build()
        self.refreshes += 1
        old = self.items
        changed = 0
        for key in [*new, *(k for k in old if k not in new)]:
            value, previous = new.get(key), old.get(key)
            if value != previous:
                self.seq += 1
                self.deltas.append(Delta(self.seq, key, value, previous))
                changed += 1
        self.items = new
        if changed:
            self._announce()
        return changed

    def _announce(self) -> None:
        news, self._news = self._news, asyncio.Event()
        news.set()

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("console: cannot refresh the board")
                await asyncio.sleep(1.0)

    async def __aenter__(self) -> Board:
        await self.refresh()
        self._task = asyncio.create_task(self.run(), name="console-board")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def close(self) -> None:
        """End every open stream (the server's stop does not wait for them)."""
        self._closed = True
        self._announce()

    def drop_streams(self) -> None:
        """End every open stream now, as a dropped connection would; clients resume."""
        self._cut += 1
        self._announce()

    # ------------------------------------------------------------------ streams

    def visible(self, who: Principal, key: str, item: Item | None) -> bool:
        """The API's rule (`ari_app.api.access`): an agent sees itself and its calls; a team
        lead its team's agents and calls, the queues, and the sessions it started; a
        supervisor everything. A queued call has no agent, hence no team."""
        if item is None:
            return False
        if who.role == "supervisor":
            return True
        kind = key.split("/", 1)[0]
        if who.role == "team_lead":
            if kind in ("queue", "series") or key.startswith("stats/queue/"):
                return True
            if kind == "monitor":
                return bool(item.get("started_by") == who.name)
            return bool(who.team) and item.get("team") == who.team
        if who.role == "agent" and (kind in ("agent", "call") or key.startswith("stats/agent/")):
            return bool(who.agent_id) and item.get("agent_id") == who.agent_id
        return False

    def snapshot(self, who: Principal) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "now": round(self.now(), 3),
            "items": {k: v for k, v in self.items.items() if self.visible(who, k, v)},
        }

    def _resume_from(self, last_event_id: str | None) -> int | None:
        """The sequence number to resume after, if every delta after it is still here."""
        if not last_event_id:
            return None
        epoch, _, seq_text = last_event_id.partition(":")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        first = self.deltas[0].seq if self.deltas else self.seq + 1
        if seq > self.seq or seq < first - 1:
            return None
        return seq

    def _after(self, seq: int) -> list[Delta]:
        if not self.deltas or seq >= self.seq:
            return []
        start = seq - self.deltas[0].seq + 1
        return list(islice(self.deltas, max(0, start), None))

    def _message(self, kind: str, seq: int, data: Mapping[str, Any]) -> bytes:
        body = orjson.dumps(data).decode()
        return f"id: {self.epoch}:{seq}\nevent: {kind}\ndata: {body}\n\n".encode()

    async def stream(
        self, who: Principal, last_event_id: str | None, alive: Callable[[], bool]
    ) -> AsyncIterator[bytes]:
        """Server-Sent Events for `who`: a snapshot (or the deltas missed since
        `last_event_id`), then deltas, with a keep-alive comment every 15 s; ends when the
        board closes, streams are dropped or `alive()` says the session is over."""
        cut = self._cut
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent = self._resume_from(last_event_id)
        if sent is None:
            snap = self.snapshot(who)
            sent = snap["seq"]
            yield self._message("snapshot", sent, snap)
        else:
            yield self._message("resumed", sent, {"seq": sent, "now": round(self.now(), 3)})
        cursor = sent  # the last delta looked at (sent or not this viewer's)
        while not self._closed and cut == self._cut and alive():
            if self.deltas and cursor < self.deltas[0].seq - 1:
                return  # fell behind the ring buffer: the client reconnects to a snapshot
            for d in self._after(cursor):
                cursor = d.seq
                now_visible = self.visible(who, d.key, d.value)
                if not now_visible and not self.visible(who, d.key, d.previous):
                    continue
                data = {
                    "seq": d.seq,
                    "after": sent,
                    "now": round(self.now(), 3),
                    "key": d.key,
                    "value": d.value if now_visible else None,
                }
                sent = d.seq
                yield self._message("delta", d.seq, data)
            news = self._news
            if self._after(cursor):
                continue
            try:
                await asyncio.wait_for(news.wait(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
