"""Shared by the callback API, report and follow-up tests: a migrated SQLite records file,
the call-flow core's callbacks behind the API's `CallbackEngine` (every change written to
the records as `hotline run` does), and callbacks written straight into the records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ari_app.api.callback_routes import CallbackDesk, CallOrigin
from ari_app.callbacks import Callback, Kind, State
from ari_app.config.settings import Config
from ari_app.domain.events import CallbackAttempted, CallbackChanged
from ari_app.domain.privacy import mask
from ari_app.records import schema
from ari_app.records.callbacks import SqlCallbackStore
from tests.callflow_rig import Rig


def records(tmp_path: Path) -> SqlCallbackStore:
    engine = schema.make_engine(f"sqlite:///{tmp_path / 'hotline.sqlite3'}")
    schema.upgrade(engine)
    return SqlCallbackStore(engine)


def changed(cb: Callback, at: float | None = None) -> CallbackChanged:
    """The event the engine publishes after a move (what the records write)."""
    return CallbackChanged(
        callback_id=cb.id, kind=cb.kind.value, queue=cb.queue, state=cb.state.value,
        caller=mask(cb.caller_number), reason=cb.reason, requested_by=cb.requested_by,
        call_id=cb.call_id, requested_at=cb.requested_at, first_arrival=cb.first_arrival,
        not_before=cb.not_before, due_by=cb.due_by, due_at=cb.due_at,
        max_attempts=cb.max_attempts, retry_seconds=cb.retry_seconds, attempts=cb.attempts,
        last_result=cb.last_result, answered_call_id=cb.answered_call_id,
        answered_at=cb.answered_at, agent_id=cb.agent_id, order_id=cb.order_id,
        at=cb.updated_at if at is None else at, caller_number=cb.caller_number,
    )


def callback(cid: str, queue: str = "support", *, at: float, number: str = "13800001234",
             requested_by: str = "user:sue", state: State = State.DUE, attempts: int = 0,
             answered_at: float | None = None, due_by: float | None = None,
             agent_id: str = "", order_id: str = "", kind: Kind = Kind.SCHEDULED) -> Callback:
    return Callback(
        id=cid, kind=kind, queue=queue, caller_number=number, reason="账单",
        requested_by=requested_by, call_id="", requested_at=at, first_arrival=at,
        not_before=at, due_by=due_by, state=state, attempts=attempts,
        due_at=None if state in (State.REQUESTED, State.WAITING) else at,
        last_result="answered" if state is State.ANSWERED else "",
        answered_at=answered_at, agent_id=agent_id, order_id=order_id,
        updated_at=answered_at or at,
    )


class CoreCallbacks:
    """The API's `CallbackEngine` over the real call-flow core (the pure rig), on the API's
    clock; what the core publishes goes to the records at once."""

    def __init__(self, config: Config, store: SqlCallbackStore,
                 clock: Callable[[], datetime]) -> None:
        self.rig = Rig(config)
        self.store = store
        self.clock = clock

    def _apply(self, commands: list[object]) -> None:
        self.rig._run(commands)  # type: ignore[arg-type]
        self.flush()

    def flush(self) -> None:
        """Write what the core published since (after driving `rig` directly)."""
        events = [e for e in self.rig.published
                  if isinstance(e, CallbackChanged | CallbackAttempted)]
        self.rig.published.clear()
        self.store.write(events)

    def schedule(self, cb: Callback, within_days: int | None) -> Callback:
        self.rig.now = self.clock().timestamp()
        cb, commands = self.rig.core.schedule_callback(cb, within_days, self.rig.now)
        self._apply(commands)  # type: ignore[arg-type]
        return cb

    def cancel(self, callback_id: str, by: str) -> Callback:
        self.rig.now = self.clock().timestamp()
        cb, commands = self.rig.core.cancel_callback(callback_id, by, self.rig.now)
        self._apply(commands)  # type: ignore[arg-type]
        return cb


CALLS = {
    "c1": CallOrigin("support", "1001", "13800001234"),  # ann's call
    "c2": CallOrigin("billing", "2001", "13900005678"),  # bob's call
    "c9": CallOrigin("support", "1001", ""),  # ann's, the number no longer kept
}


def desk(config: Config, store: SqlCallbackStore, clock: Callable[[], datetime]) -> (
    CallbackDesk
):
    return CallbackDesk(CoreCallbacks(config, store, clock), store, CALLS.get)


def with_queues(config: Config, **queues: tuple[str, ...]) -> Config:
    """The config with agents' queues changed (`a1001=("support",)`)."""
    agents = tuple(
        a.model_copy(update={"queues": queues[f"a{a.id}"]}) if f"a{a.id}" in queues else a
        for a in config.agents
    )
    return config.model_copy(update={"agents": agents})


def with_dial(config: Config, queue: str = "support") -> Config:
    """The config with `queue`'s callbacks dialled through `PJSIP/{number}@carrier`."""
    queues = tuple(
        q.model_copy(update={"callback": q.callback.model_copy(
            update={"dial": "PJSIP/{number}@carrier"})}) if q.name == queue else q
        for q in config.queues
    )
    return config.model_copy(update={"queues": queues})
