"""The call-flow core: ARI events, timer firings and people's requests in, commands out.

Pure and synchronous, like h11: the `Switchboard` never touches a socket or a clock.
Every entry point takes `now` (epoch seconds, from the shell's loop clock) and returns the
commands (ari_app.domain.commands) the shell must execute, in order per call. The shell
reports a failed REST request back with `on_failure`, so a vanished channel (404) or one
that left Stasis (422) ends the call cleanly instead of leaving it stuck.

Every state has a timer (max wait, ring setup, RONA, greeting, talk, overflow prompt,
cleanup), so no call can stay anywhere forever. Bad events are counted in `counters` and
dropped; an unexpected error inside one call's handling ends that call, never the engine.

The switchboard only routes: each part of a call's life is a room of its own (see
ari_app.callflow.flow), sharing one `Desk`.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ari_app.callbacks import Callback
from ari_app.callflow.adoption import AgentSession, CallFacts
from ari_app.callflow.agents import AgentRegistry
from ari_app.callflow.ari_events import AriEvents
from ari_app.callflow.call import Call
from ari_app.callflow.desk import Desk, IsOpen, Limits, RingPeriod
from ari_app.callflow.failures import Failures
from ari_app.callflow.flow import Flow
from ari_app.callflow.queueing import WaitingList
from ari_app.callflow.reconcile import reconcile
from ari_app.callflow.supervision.machine import Monitor
from ari_app.callflow.transfer.machine import Target
from ari_app.config.settings import Config, QueueSettings
from ari_app.domain.commands import AriCommand, Command, Hangup, TimerKey
from ari_app.domain.passwords import verify_secret

__all__ = ["IsOpen", "Limits", "RingPeriod", "Switchboard"]


class Switchboard:
    """All calls, queues and agents of one engine, as one deterministic state machine."""

    def __init__(
        self,
        config: Config,
        *,
        ring_period: RingPeriod,
        is_open: IsOpen,
        limits: Limits | None = None,
        verify: Callable[[str, str], bool] = verify_secret,
        phone_transfers: str = "core",
    ) -> None:
        """`phone_transfers`: "core" leaves a phone's REFER to Asterisk (Local pair,
        BridgeBlindTransfer); "ari-only" sets PJSIP_TRANSFER_HANDLING()=ari-only on every
        agent leg so the engine gets ChannelTransfer and dials the target itself."""
        if phone_transfers not in ("core", "ari-only"):
            raise ValueError(f"phone_transfers must be core or ari-only, not {phone_transfers!r}")
        self.desk = Desk(
            config,
            AgentRegistry(config.agents, verify),
            ring_period=ring_period,
            is_open=is_open,
            limits=limits or Limits(),
            phone_transfers=phone_transfers,
        )
        self.flow = Flow(self.desk)
        self._events = AriEvents(self.desk, self.flow)
        self._failures = Failures(self.desk, self.flow)
        flow = self.flow
        self._timers: dict[str, Callable[[str, float], None]] = {
            "offer": flow.offering.timer,
            "maxwait": flow.arrival.maxwait_timer,
            "announce": flow.arrival.announce_timer,
            "greeting": flow.answering.greeting_timer,
            "talk": flow.ending.talk_timer,
            "overflow": flow.overflow.timer,
            "cleanup": flow.ending.cleanup_timer,
            "wrapup": flow.ending.wrapup_timer,
            "cool": lambda _agent, now: flow.offering.dispatch(now),
            "xfer": flow.transfers.timer,
            "local": flow.phone_transfers.local_timer,
            "digits": flow.features.digits_timer,
            "feature": flow.features.feature_timer,
            "survey": flow.surveys.timer,
            "cboffer": flow.callbacks.offer_timer,
            "cbdue": flow.callbacks.due_timer,
            "cbleg": flow.callbacks.leg_timer,
            "cbdial": flow.callbacks.dial_timer,
        }

    # ------------------------------------------------------------------ what it holds

    @property
    def config(self) -> Config:
        return self.desk.config

    @property
    def limits(self) -> Limits:
        return self.desk.limits

    @property
    def agents(self) -> AgentRegistry:
        return self.desk.agents

    @property
    def queues(self) -> dict[str, QueueSettings]:
        return self.desk.queues

    @property
    def waiting(self) -> dict[str, WaitingList]:
        return self.desk.waiting

    @property
    def calls(self) -> dict[str, Call]:
        return self.desk.calls

    @property
    def counters(self) -> Counter[str]:
        return self.desk.counters

    @property
    def monitors(self) -> dict[str, Monitor]:
        return self.flow.monitoring.sessions

    @property
    def phone_transfers(self) -> str:
        return self.desk.phone_transfers

    @phone_transfers.setter
    def phone_transfers(self, how: str) -> None:
        self.desk.phone_transfers = how

    def live_channels(self) -> int:
        return self.desk.live_channels()

    @property
    def event_types(self) -> frozenset[str]:
        """The ARI event types the call flow acts on (every other type it ignores)."""
        return frozenset(self._events.handlers)

    # ------------------------------------------------------------------ ARI events, timers

    def on_event(self, event: Mapping[str, Any], now: float) -> list[Command]:
        """One ARI event. Malformed ones are counted under `malformed` and dropped."""
        try:
            handler = self._events.handlers.get(event["type"])
            if handler is not None:
                handler(event, now)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.desk.count("malformed")
            kind = event.get("type", "?") if isinstance(event, Mapping) else "?"
            self.desk.note("warning", f"dropped malformed {kind} event: {exc!r}")
        except Exception as exc:
            self._bug(f"handling {event.get('type', '?')}", exc)
            self._fail_related(event, now)
        return self.desk.take()

    def on_timer(self, key: TimerKey, now: float) -> list[Command]:
        try:
            purpose, subject = key
            handler = self._timers.get(purpose)
            if handler is None:
                self.desk.count("unknown_timer")
            else:
                handler(subject, now)
        except Exception as exc:
            self._bug(f"handling timer {key}", exc)
        return self.desk.take()

    def on_failure(self, command: AriCommand, status: int, now: float) -> list[Command]:
        """A REST request failed (`status` 0: no answer from Asterisk)."""
        self.desk.count(f"rest_{status}")
        try:
            self._failures.failed(command, status, now)
        except Exception as exc:
            self._bug(f"handling the failure of {type(command).__name__}", exc)
        return self.desk.take()

    def reconcile(
        self,
        channels: Iterable[Mapping[str, Any]],
        bridges: Iterable[Mapping[str, Any] | str],
        now: float,
        *,
        recordings: Iterable[str] = (),
        facts: Mapping[str, CallFacts] | None = None,
    ) -> list[Command]:
        """On every (re)connect and after a restart: see ari_app.callflow.reconcile."""
        try:
            reconcile(
                self.desk, self.flow, channels, bridges, now, recordings=recordings, facts=facts
            )
        except Exception as exc:
            self._bug("reconciling with Asterisk", exc)
        return self.desk.take()

    def restore_agents(self, sessions: Iterable[AgentSession], now: float) -> list[Command]:
        """At start, before the first reconcile: agents' saved sessions (see adoption)."""
        self.flow.adoption.restore_agents(sessions, now)
        return self.desk.take()

    # ------------------------------------------------------------------ agents

    def login(
        self, agent_id: str, pin: str, device: str, now: float, *, verified: bool | None = None
    ) -> list[Command]:
        """Raises AgentError (bad_credentials, already_logged_in, device_in_use)."""
        self.flow.agent_actions.login(agent_id, pin, device, now, verified=verified)
        return self.desk.take()

    def logout(self, agent_id: str, now: float) -> list[Command]:
        self.flow.agent_actions.logout(agent_id, now)
        return self.desk.take()

    def pause(self, agent_id: str, reason: str, now: float) -> list[Command]:
        self.flow.agent_actions.pause(agent_id, reason, now)
        return self.desk.take()

    def unpause(self, agent_id: str, now: float) -> list[Command]:
        self.flow.agent_actions.unpause(agent_id, now)
        return self.desk.take()

    def end_wrapup(self, agent_id: str, now: float) -> list[Command]:
        self.flow.agent_actions.end_wrapup(agent_id, now)
        return self.desk.take()

    # ------------------------------------------------------------------ transfers

    def resolve_target(self, kind: str, name: str) -> Target:
        """An API target — a department of the directory, a queue or an agent — as a
        `Target`. Raises TransferError(not_found)."""
        return self.flow.transfer_requests.resolve_target(kind, name)

    def transfer(self, call_id: str, kind: str, target: Target, now: float) -> list[Command]:
        """An agent's blind or attended transfer. Raises TransferError."""
        self.flow.transfer_requests.request(call_id, kind, target, now)
        return self.desk.take()

    def complete_transfer(self, call_id: str, now: float) -> list[Command]:
        self.flow.transfer_requests.complete(call_id, now)
        return self.desk.take()

    def cancel_transfer(self, call_id: str, now: float) -> list[Command]:
        self.flow.transfer_requests.cancel(call_id, now)
        return self.desk.take()

    # ------------------------------------------------------------------ supervision

    def monitor(
        self, call_id: str, mode: str, device: str, by: str, now: float
    ) -> tuple[Monitor, list[Command]]:
        """Start monitoring a live call's agent leg. Raises MonitorError."""
        session = self.flow.monitoring.start(call_id, mode, device, by, now)
        return session, self.desk.take()

    def change_monitor(self, session_id: str, mode: str, now: float) -> list[Command]:
        monitoring = self.flow.monitoring
        monitoring.change(monitoring.session(session_id), mode, now)
        return self.desk.take()

    def stop_monitor(self, session_id: str, now: float) -> list[Command]:
        monitoring = self.flow.monitoring
        monitoring.end(monitoring.session(session_id), "stopped", now)
        return self.desk.take()

    # ------------------------------------------------------------------ feature codes

    def pin_checked(self, channel_id: str, ok: bool, now: float) -> list[Command]:
        """The answer to a `CheckPin` (from a worker thread, back on the loop)."""
        try:
            self.flow.features.pin_checked(channel_id, ok, now)
        except Exception as exc:
            self._bug(f"after the PIN check of {channel_id}", exc)
            self.desk.emit(Hangup(channel_id, call_id=channel_id))
        return self.desk.take()

    # ------------------------------------------------------------------ callbacks

    @property
    def callbacks(self) -> dict[str, Callback]:
        """The pending callbacks, by id (docs/callbacks.md)."""
        return self.flow.callbacks.book

    def schedule_callback(
        self, callback: Callback, within_days: int | None, now: float
    ) -> tuple[Callback, list[Command]]:
        """A scheduled callback from the API (an agent, a supervisor, a work order's
        follow-up): `within_days` sets its deadline on the site calendar. Raises ValueError
        for an unknown queue."""
        cb = self.flow.callbacks.schedule(callback, within_days, now)
        return cb, self.desk.take()

    def cancel_callback(
        self, callback_id: str, by: str, now: float
    ) -> tuple[Callback, list[Command]]:
        """Raises KeyError when no pending callback has that id."""
        cb = self.flow.callbacks.cancel(callback_id, now, by)
        return cb, self.desk.take()

    def restore_callbacks(self, callbacks: Iterable[Callback], now: float) -> list[Command]:
        """At start: the pending callbacks from the records."""
        self.flow.callbacks.restore(callbacks, now)
        self.flow.offering.dispatch(now)
        return self.desk.take()

    # ------------------------------------------------------------------ bugs

    def _bug(self, doing: str, exc: Exception) -> None:
        self.desk.count("errors")
        detail = "".join(traceback.format_exception(exc)).rstrip()
        self.desk.note("error", f"error {doing}: {detail}")

    def _fail_related(self, event: Mapping[str, Any], now: float) -> None:
        """A bug met this event: end the call it belongs to rather than leave it stuck."""
        ch = event.get("channel") or event.get("peer") or {}
        call = self.desk.call_of(ch.get("id", "")) if isinstance(ch, Mapping) else None
        if call is None:
            return
        try:
            self.flow.ending.fail(call, now)
        except Exception as exc:
            self._bug(f"cleaning up call {call.call_id}", exc)
