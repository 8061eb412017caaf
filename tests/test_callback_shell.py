"""`hotline run`'s callback desk: a call's origin for a callback asked for on it — the
engine's recent calls (the number in full, in memory, bounded), else the `calls` record
(the number only where the records keep it in full)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest

from ari_app.api.callback_routes import CallOrigin
from ari_app.domain.events import CallProgress
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records.callbacks import CallbackRecords
from ari_app.records.sink import RecordsEventSink
from ari_app.records.writer import RecordWriter
from ari_app.shell.callbacks import RecentCalls, callback_desk
from ari_app.shell.engine import Engine
from tests.callback_rig import records

T0 = 1795420800.0


def progress(call_id: str, number: str, agent: str = "") -> CallProgress:
    return CallProgress(call_id, "support", "*******" + number[-4:], T0,
                        T0 + 5 if agent else None, agent, number)


def test_recent_calls_keep_the_latest_and_forget_the_oldest() -> None:
    recent = RecentCalls(size=2)
    recent.publish(progress("a", "13800001111"))
    recent.publish(progress("a", "13800001111", "1001"))  # answered: the agent
    recent.publish(progress("b", "13800002222"))
    assert recent.get("a") == CallOrigin("support", "1001", "13800001111")
    recent.publish(progress("c", "13800003333"))
    assert recent.get("a") is None  # the oldest went
    assert recent.get("c") == CallOrigin("support", "", "13800003333")


@pytest.mark.parametrize("storage", ["masked", "full"])
async def test_origin_from_memory_else_from_the_records(tmp_path: Path, storage: str) -> None:
    store = records(tmp_path)
    async with RecordWriter(store.engine, tmp_path / "spool.jsonl",
                            policy=CallerNumberPolicy(storage)) as w:  # type: ignore[arg-type]
        RecordsEventSink(w, "demo").publish(progress("old", "13800004444", "1002"))
        await asyncio.wait_for(w.wait_idle(), 10)
    recent = RecentCalls()
    recent.publish(progress("new", "13800005555", "1001"))
    desk = callback_desk(cast(Engine, None), CallbackRecords(store), recent)
    assert desk.origin("new") == CallOrigin("support", "1001", "13800005555")
    # a call from before the restart: its record, the number only if kept in full
    number = "13800004444" if storage == "full" else ""
    assert desk.origin("old") == CallOrigin("support", "1002", number)
    assert desk.origin("nope") is None
