"""The call-flow core: ARI events, timer firings and agent actions in, commands out.

Pure and synchronous, like h11: `Switchboard` never touches a socket or a clock. Every
entry point takes `now` (epoch seconds, from the shell's loop clock) and returns the
commands (ari_app.domain.commands) the shell must execute, in order per call. The shell reports a
failed REST request back with `on_failure`, so a vanished channel (404) or one that left
Stasis (422) ends the call cleanly instead of leaving it stuck.

Every state has a timer (max wait, ring setup, RONA, greeting, talk, overflow prompt,
cleanup), so no call can stay anywhere forever. Bad events are counted in `counters`
and dropped; an unexpected error inside one call's handling ends that call, never the
engine.

The switchboard keeps the call's own life (arrival, queue, answer, greeting, bridge,
overflow, end, reconcile, REST failures) and hands the rest to collaborators that share its
command list: ari_app.callflow.offering (agents offered calls),
ari_app.callflow.transfer.applier, ari_app.callflow.supervision.applier and
ari_app.callflow.feature_codes.applier."""

from __future__ import annotations

import logging
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from ari_app.callflow.agents import Agent, AgentError, AgentRegistry
from ari_app.callflow.call import Call, CallState, leg_result
from ari_app.callflow.feature_codes.applier import AgentActions, FeatureCalls
from ari_app.callflow.feature_codes.machine import (
    is_feature,
)
from ari_app.callflow.offering import Offering
from ari_app.callflow.queueing import HandlingTime, WaitingList, estimated_wait
from ari_app.callflow.supervision.applier import DTMF_MODES, Monitoring
from ari_app.callflow.supervision.machine import Monitor, MonitorError
from ari_app.callflow.transfer.applier import CallFlow, Transfers
from ari_app.callflow.transfer.machine import Kind, Target
from ari_app.config.settings import Config, Hours, QueueSettings
from ari_app.domain.commands import (
    CALL_ID,
    GONE_STATUSES,
    QUEUE,
    ROLE,
    AddToBridge,
    Answer,
    AriCommand,
    CancelTimer,
    Command,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    Play,
    Publish,
    RecordBridge,
    RecordChannel,
    RemoveFromBridge,
    Ring,
    SetVar,
    StartMoh,
    StartTimer,
    StopMoh,
    StopPlayback,
    StopRecording,
    TimerKey,
    TransferProgress,
)
from ari_app.domain.events import (
    AgentState,
    CallbackRequested,
    CallEnded,
    CallStateChanged,
    DomainEvent,
    OfferResult,
    Outcome,
    RecordingInfo,
    RecordingReady,
)
from ari_app.domain.passwords import verify_secret
from ari_app.domain.privacy import mask

log = logging.getLogger(__name__)

_DIAL_RESULTS = {
    "BUSY": OfferResult.BUSY,
    "NOANSWER": OfferResult.RONA,
    "CHANUNAVAIL": OfferResult.UNAVAILABLE,
    "CONGESTION": OfferResult.UNAVAILABLE,
    "DONTCALL": OfferResult.UNAVAILABLE,
    "INVALIDARGS": OfferResult.UNAVAILABLE,
}
_FORGET_AFTER = 4096
_DEFAULT_OVERFLOW_MEDIA = {
    "voicemail": ("sound:vm-intro",),
    "callback": ("sound:queue-callback",),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on every state a call can be in (seconds)."""

    setup_seconds: float = 5.0
    greeting_seconds: float = 120.0
    talk_seconds: float = 4 * 3600.0
    prompt_seconds: float = 120.0
    voicemail_seconds: int = 120
    cleanup_seconds: float = 10.0
    busy_retry_seconds: float = 10.0
    overflow_hops: int = 3
    local_claim_seconds: float = 5.0  # a REFER's Local half nobody claims is hung up
    feature_seconds: float = 120.0  # a feature-code call (*21 .. *33) at most


@dataclass(frozen=True, slots=True)
class TimerFired:
    key: TimerKey


IsOpen = Callable[[Hours | None, datetime], bool]
RingPeriod = Callable[[str], float]


class Switchboard:
    """All calls, queues and agents of one engine, as one deterministic state machine."""

    def __init__(
        self,
        config: Config,
        *,
        ring_period: RingPeriod,
        is_open: IsOpen,
        limits: Limits = Limits(),
        verify: Callable[[str, str], bool] = verify_secret,
        phone_transfers: str = "core",
    ) -> None:
        """`phone_transfers`: "core" leaves a phone's REFER to Asterisk (Local pair,
        BridgeBlindTransfer); "ari-only" sets PJSIP_TRANSFER_HANDLING()=ari-only on every
        agent leg so the engine gets ChannelTransfer and dials the target itself."""
        if phone_transfers not in ("core", "ari-only"):
            raise ValueError(f"phone_transfers must be core or ari-only, not {phone_transfers!r}")
        self.config = config
        self.app = config.engine.app
        self.limits = limits
        self.agents = AgentRegistry(config.agents, verify)
        self.queues: dict[str, QueueSettings] = {q.name: q for q in config.queues}
        self.waiting: dict[str, WaitingList] = {q: WaitingList() for q in self.queues}
        self.handling: dict[str, HandlingTime] = {q: HandlingTime() for q in self.queues}
        self._periods = {q.name: ring_period(config.queue_country(q)) for q in config.queues}
        self._is_open = is_open
        self.calls: dict[str, Call] = {}
        self._wrapping: dict[str, Call] = {}
        self._channels: dict[str, str] = {}
        self._playbacks: dict[str, str] = {}
        self._bridges: dict[str, str] = {}
        self._recordings: dict[str, str] = {}
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self._seq = 0
        self.counters: Counter[str] = Counter()
        self._out: list[Command] = []
        self.offering = Offering(
            config=config,
            queues=self.queues,
            waiting=self.waiting,
            agents=self.agents,
            calls=self.calls,
            periods=self._periods,
            setup_seconds=limits.setup_seconds,
            busy_retry_seconds=limits.busy_retry_seconds,
            phone_transfers=phone_transfers,
            channels=self._channels,
            out=self._out,
            counters=self.counters,
        )
        self.monitoring = Monitoring(
            app=self.app, calls=self.calls, agents=self.agents, out=self._out, forget=self._forget
        )
        self.monitors = self.monitoring.sessions
        self.transfers = Transfers(
            config=config,
            queues=self.queues,
            agents=self.agents,
            calls=self.calls,
            setup_seconds=limits.setup_seconds,
            local_claim_seconds=limits.local_claim_seconds,
            phone_transfers=phone_transfers,
            periods=self._periods,
            channels=self._channels,
            bridges=self._bridges,
            playbacks=self._playbacks,
            monitoring=self.monitoring,
            flow=CallFlow(
                moh=self._moh,
                render=self._render,
                ring_seconds=self.offering.ring_seconds,
                enqueue=self._enqueue,
                overflow=self._overflow,
                start_wrapup=self._start_wrapup,
                end_talk=self._end_talk,
                agent_changed=self.offering.agent_changed,
            ),
            out=self._out,
            counters=self.counters,
        )
        self.feature_calls = FeatureCalls(
            config=config,
            feature_seconds=limits.feature_seconds,
            agents=self.agents,
            calls=self.calls,
            monitoring=self.monitoring,
            actions=AgentActions(
                logout=self._logout,
                pause=self._pause,
                unpause=self._unpause,
                changed=self.offering.agent_changed,
                dispatch=self.offering.dispatch,
                forget=self._forget,
            ),
            out=self._out,
            counters=self.counters,
        )

    # ------------------------------------------------------------------ entry points

    def on_event(self, event: Mapping[str, Any], now: float) -> list[Command]:
        """One ARI event. Malformed ones are counted under `malformed` and dropped."""
        try:
            kind = event["type"]
            handler = self._handlers.get(kind)
            if handler is not None:
                handler(self, event, now)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.counters["malformed"] += 1
            log.warning("dropped malformed %s event: %s", event.get("type", "?"), exc)
        except Exception:
            self.counters["errors"] += 1
            log.exception("error handling %s", event.get("type", "?"))
            self._fail_related(event, now)
        return self._take()

    def on_timer(self, key: TimerKey, now: float) -> list[Command]:
        try:
            purpose, subject = key
            handler = self._timers.get(purpose)
            if handler is None:
                self.counters["unknown_timer"] += 1
            else:
                handler(self, subject, now)
        except Exception:
            self.counters["errors"] += 1
            log.exception("error handling timer %s", key)
        return self._take()

    def on_failure(self, command: AriCommand, status: int, now: float) -> list[Command]:
        """A REST request failed (`status` 0: no answer from Asterisk)."""
        self.counters[f"rest_{status}"] += 1
        try:
            self._failed(command, status, now)
        except Exception:
            self.counters["errors"] += 1
            log.exception("error handling failure of %s", type(command).__name__)
        return self._take()

    def login(
        self, agent_id: str, pin: str, device: str, now: float, *, verified: bool | None = None
    ) -> list[Command]:
        """Raises AgentError (bad_credentials, already_logged_in, device_in_use).

        `verified`: the shell already checked the PIN (in a thread: PBKDF2 is slow)."""
        self.offering.agent_changed(
            self.agents.login(agent_id, pin, device, now, verified=verified)
        )
        self.offering.dispatch(now)
        return self._take()

    def logout(self, agent_id: str, now: float) -> list[Command]:
        self._logout(agent_id, now)
        return self._take()

    def _logout(self, agent_id: str, now: float) -> None:
        agent = self.agents.require(agent_id)
        was_wrapping = agent.state is AgentState.WRAPUP
        call_id = agent.call_id
        event = self.agents.logout(agent_id, now)
        if was_wrapping:
            self._out.append(CancelTimer(("wrapup", agent_id)))
            self._wrapup_finished(call_id, agent_id, now)
        self.offering.agent_changed(event)
        for q in self.queues:
            if agent.serves(q) and not self.agents.logged_in_for(q):
                for entry in self.waiting[q]:
                    self._overflow(self.calls[entry.call_id], "no_agents", now)

    def pause(self, agent_id: str, reason: str, now: float) -> list[Command]:
        self._pause(agent_id, reason, now)
        return self._take()

    def _pause(self, agent_id: str, reason: str, now: float) -> None:
        agent = self._logged_in(agent_id)
        event = agent.pause(reason, now)
        if event is not None:
            self.offering.agent_changed(event)

    def unpause(self, agent_id: str, now: float) -> list[Command]:
        self._unpause(agent_id, now)
        return self._take()

    def _unpause(self, agent_id: str, now: float) -> None:
        agent = self._logged_in(agent_id)
        event = agent.unpause(now)
        if event is not None:
            self.offering.agent_changed(event)
            self.offering.dispatch(now)

    def end_wrapup(self, agent_id: str, now: float) -> list[Command]:
        agent = self._logged_in(agent_id)
        if agent.state is not AgentState.WRAPUP:
            raise AgentError("not_in_wrapup", f"agent {agent_id} is not in wrap-up")
        self._out.append(CancelTimer(("wrapup", agent_id)))
        self._wrapup_timer(agent_id, now)
        return self._take()

    def reconcile(
        self, channels: Iterable[Mapping[str, Any]], bridge_ids: Iterable[str], now: float
    ) -> list[Command]:
        """After a reconnect: forget legs that vanished, re-queue callers still waiting
        for an agent, hang up any other channel of this app that no call owns."""
        live: dict[str, Mapping[str, Any]] = {}
        for ch in channels:
            if isinstance(ch, Mapping) and isinstance(ch.get("id"), str):
                live[ch["id"]] = ch
        for channel_id in [c for c in self._channels if c not in live]:
            self._leg_gone(channel_id, {}, now)
        for channel_id in [c for c in self.monitoring.channels if c not in live]:
            self.monitoring.leg_gone(channel_id, now)
        for channel_id in [c for c in self.feature_calls.channels if c not in live]:
            self.feature_calls.gone(channel_id, now)
        for channel_id, ch in live.items():
            if (
                channel_id in self._channels
                or channel_id in self.monitoring.channels
                or channel_id in self.feature_calls.channels
            ):
                continue
            if not self._ours(ch):
                continue
            cvars = ch.get("channelvars") or {}
            if ch.get("state") != "Up" and cvars.get(ROLE, "") in ("", "caller"):
                self.counters["adopted"] += 1
                queue = cvars.get(QUEUE) or ""
                self._new_call(ch, [queue] if queue else [], now)
            else:
                self.counters["orphans_hung_up"] += 1
                self._out.append(Hangup(channel_id))
        for bridge_id in bridge_ids:
            if bridge_id not in self._bridges and bridge_id.startswith("br-"):
                self.counters["orphan_bridges"] += 1
                self._out.append(DestroyBridge(bridge_id))
        self.offering.dispatch(now)
        return self._take()

    def live_channels(self) -> int:
        return len(self._channels)

    # ------------------------------------------------------------------ ARI events

    def _stasis_start(self, ev: Mapping[str, Any], now: float) -> None:
        ch = ev["channel"]
        channel_id = ch["id"]
        if (
            channel_id in self._channels
            or channel_id in self.monitoring.channels
            or channel_id in self.feature_calls.channels
        ):
            return  # a leg, target, snoop or supervisor phone we created
        args = ev.get("args") or []
        if is_feature(args):
            self.feature_calls.start(ch, args, now)
            return
        if args and args[0] == "transfer":
            self.transfers.local_half_two(ch, args, now)
            return
        replaced = ev.get("replace_channel")
        if isinstance(replaced, Mapping) and replaced.get("id") in self._channels:
            self.transfers.local_half_one(ch, replaced["id"], now)
            return
        if args and args[0] in ("agent", "supervisor", "snoop", "external"):
            self.counters[f"orphan_{args[0]}_leg"] += 1
            self._out.append(Hangup(channel_id))
            return
        self._new_call(ch, args, now)

    def _leg_event(self, ev: Mapping[str, Any], now: float) -> None:
        kind = ev["type"]
        if kind == "ChannelHangupRequest" and ev.get("soft"):
            return
        channel_id = ev["channel"]["id"]
        if channel_id in self.monitoring.channels:
            self.monitoring.leg_gone(channel_id, now)
            return
        if channel_id in self.feature_calls.channels:
            self.feature_calls.gone(channel_id, now)
            return
        if channel_id not in self._channels:
            if kind == "ChannelDestroyed" and channel_id not in self._forgotten:
                self.counters["unknown_channel"] += 1
            return
        self._leg_gone(channel_id, ev, now)

    def _state_change(self, ev: Mapping[str, Any], now: float) -> None:
        ch = ev["channel"]
        if ch["id"] in self.monitoring.channels:
            if ch["state"] == "Up":
                self.monitoring.answered(ch["id"], now)
            return
        call = self._call_of(ch["id"])
        if call is None:
            return
        if call.xfer_offer is not None and call.xfer_offer.channel_id == ch["id"]:
            if ch["state"] == "Ringing":
                self.transfers.ringing(call, now)
            elif ch["state"] == "Up":
                self.transfers.answered(call, now)
            return
        if ch["state"] == "Ringing":
            self.offering.ringing(call, ch["id"], now)
        elif ch["state"] == "Up" and ch["id"] != call.caller_channel:
            self._agent_answered(call, ch["id"], now)

    def _dial(self, ev: Mapping[str, Any], now: float) -> None:
        peer = ev["peer"]["id"]
        status = ev.get("dialstatus") or ""
        if peer in self.monitoring.channels:
            if status == "ANSWER":
                self.monitoring.answered(peer, now)
            return
        call = self._call_of(peer)
        if call is None or not status:
            return
        if call.xfer_offer is not None and call.xfer_offer.channel_id == peer:
            if status == "RINGING":
                self.transfers.ringing(call, now)
            elif status == "ANSWER":
                self.transfers.answered(call, now)
            else:
                self.transfers.leg_failed(
                    call, _DIAL_RESULTS.get(status, OfferResult.UNAVAILABLE), now, hangup=True
                )
            return
        if status == "RINGING":
            self.offering.ringing(call, peer, now)
        elif status == "ANSWER":
            self._agent_answered(call, peer, now)
        elif call.offer is not None and call.offer.channel_id == peer:
            result = _DIAL_RESULTS.get(status, OfferResult.UNAVAILABLE)
            self.offering.end(call, result, now, hangup=True)
            self.offering.dispatch(now)

    def _playback_finished(self, ev: Mapping[str, Any], now: float) -> None:
        pid = ev["playback"]["id"]
        if pid in self.feature_calls.playbacks:
            self.feature_calls.prompt_done(pid, now)
            return
        call_id = self._playbacks.pop(pid, None)
        call = self.calls.get(call_id) if call_id else None
        if call is None:
            return
        self._playback_done(call, pid, now)

    def _recording_finished(self, ev: Mapping[str, Any], now: float) -> None:
        rec = ev["recording"]
        name = rec["name"]
        call_id = self._recordings.pop(name, None)
        call = self.calls.get(call_id) if call_id else None
        if call is None:
            return
        if ev["type"] == "RecordingFailed":
            self.counters["recording_failed"] += 1
        duration = rec.get("duration")
        call.recording_seconds = float(duration) if isinstance(duration, int | float) else None
        call.recording_done = True
        if call.state is CallState.OVERFLOW and call.caller_up:
            self._out.append(Hangup(call.caller_channel, call_id=call.call_id))
            self._finish(call, now)
        self._maybe_finalise(call, now)

    def _bridge_blind_transfer(self, ev: Mapping[str, Any], now: float) -> None:
        """Asterisk did a phone's blind transfer itself. Usually the Local ;1 half's
        StasisStart (with replace_channel) came first; if not, link it from here."""
        self.counters["phone_blind_transfers"] += 1
        replaced = ev.get("replace_channel")
        channel_id = ev["channel"]["id"]
        if isinstance(replaced, Mapping) and channel_id in self._channels:
            call = self._call_of(channel_id)
            if call is not None and replaced["id"] not in self._channels:
                self.transfers.local_half_one(replaced, channel_id, now)

    def _channel_transfer(self, ev: Mapping[str, Any], now: float) -> None:
        """`ari-only`: the agent's phone sent REFER and Asterisk left it to us. Events with
        a `state` echo our own /transfer_progress reports."""
        if ev.get("state"):
            return
        source = ev["referred_by"]["source_channel"]["id"]
        dest = str(
            (ev.get("refer_to") or {}).get("requested_destination", {}).get("destination") or ""
        )
        call = self._call_of(source)
        if call is None or source != call.agent_channel or not call.agent_up:
            self.counters["unknown_transfer"] += 1
            return
        cid = call.call_id
        self._out.append(TransferProgress(source, "channel_progress", call_id=cid))
        if call.state is not CallState.BRIDGED or (call.transfer and call.transfer.active):
            self.counters["transfer_refused"] += 1
            self._out.append(TransferProgress(source, "channel_declined", call_id=cid))
            return
        self.transfers.start(
            call, Kind.PHONE, self.transfers.phone_target(dest), now, agent_stays=True
        )

    def _dtmf(self, ev: Mapping[str, Any], now: float) -> None:
        channel_id = ev["channel"]["id"]
        digit = str(ev["digit"])
        feature = self.feature_calls.channels.get(channel_id)
        if feature is not None:
            self.feature_calls.digit(feature, digit, now)
            return
        session = self.monitoring.of_channel(channel_id)
        if session is not None and session.phone_channel == channel_id:
            mode = DTMF_MODES.get(digit)
            if mode is None:
                return
            try:
                self.monitoring.change(session, mode, now)
            except MonitorError:
                self.counters["monitor_dtmf_refused"] += 1

    _handlers: ClassVar[dict[str, Callable[[Switchboard, Mapping[str, Any], float], None]]] = {
        "StasisStart": _stasis_start,
        "StasisEnd": _leg_event,
        "ChannelDestroyed": _leg_event,
        "ChannelHangupRequest": _leg_event,
        "ChannelStateChange": _state_change,
        "Dial": _dial,
        "PlaybackFinished": _playback_finished,
        "RecordingFinished": _recording_finished,
        "RecordingFailed": _recording_finished,
        "BridgeBlindTransfer": _bridge_blind_transfer,
        "ChannelTransfer": _channel_transfer,
        "ChannelDtmfReceived": _dtmf,
    }

    # ------------------------------------------------------------------ arrival and queueing

    def _new_call(self, ch: Mapping[str, Any], args: list[Any], now: float) -> None:
        channel_id = ch["id"]
        number = str((ch.get("caller") or {}).get("number") or "")
        queue = self._queue_for(args, ch)
        if queue is None:
            self.counters["unknown_queue"] += 1
            log.warning("no queue for channel %s (args %s)", channel_id, args[:1])
            self._out.append(Hangup(channel_id))
            return
        self._seq += 1
        call = Call(
            call_id=channel_id,
            caller_channel=channel_id,
            queue=queue.name,
            vip=number in queue.vip_numbers,
            arrived_at=now,
            seq=self._seq,
            caller_number=number,
        )
        call.queues_visited.append(queue.name)
        self.calls[channel_id] = call
        self._channels[channel_id] = channel_id
        self.counters["calls"] += 1
        cid = call.call_id
        self._out += [
            SetVar(channel_id, ROLE, "caller", call_id=cid),
            SetVar(channel_id, QUEUE, queue.name, call_id=cid),
            SetVar(channel_id, CALL_ID, cid, call_id=cid),
        ]
        if number and number in self.config.blocklist:
            call.outcome = Outcome.BLOCKED
            self._out.append(Hangup(channel_id, call_id=cid))
            self._finish(call, now)
            return
        if not self._is_open(queue.hours, datetime.fromtimestamp(now, UTC)):
            call.overflow = "closed_hours"
            self._prompt_then(call, queue.closed_media, Outcome.CLOSED, "hangup", now)
            return
        if not self.agents.logged_in_for(queue.name):
            self._overflow(call, "no_agents", now)
            return
        self._enqueue(call, queue, now)

    def _queue_for(self, args: list[Any], ch: Mapping[str, Any]) -> QueueSettings | None:
        if args and isinstance(args[0], str) and args[0] in self.queues:
            return self.queues[args[0]]
        exten = str((ch.get("dialplan") or {}).get("exten") or "")
        return self.config.queue_for_number(exten)

    def _enqueue(self, call: Call, queue: QueueSettings, now: float) -> None:
        cid = call.call_id
        if queue.mode == "answer" and not call.answered_mode:
            call.answered_mode = True
            self._out.append(Answer(call.caller_channel, call_id=cid))
            if queue.welcome:
                pid = call.play("welcome", once=True)
                self._playbacks[pid] = cid
                self._out.append(Play(call.caller_channel, pid, self._render(queue.welcome, call)))
            else:
                self._moh(call, queue, True)
        elif queue.mode == "ringback" and not call.answered_mode:
            self._out.append(Ring(call.caller_channel, call_id=cid))
        elif not call.playbacks:
            self._moh(call, queue, True)
        call.state = CallState.QUEUED
        self.waiting[queue.name].add(cid, vip=call.vip, seq=call.seq)
        self._out.append(StartTimer(("maxwait", cid), queue.max_wait_seconds))
        if call.answered_mode and queue.announce_every_seconds > 0:
            self._out.append(StartTimer(("announce", cid), queue.announce_every_seconds))
        self._call_state(call, "queued", now, position=self.waiting[queue.name].position(cid))
        self.offering.dispatch(now)

    def _moh(self, call: Call, queue: QueueSettings, on: bool) -> None:
        if on and not call.moh:
            self._out.append(StartMoh(call.caller_channel, queue.moh_class, call_id=call.call_id))
        elif not on and call.moh:
            self._out.append(StopMoh(call.caller_channel, call_id=call.call_id))
        call.moh = on

    def _stop_queue_audio(self, call: Call) -> None:
        for pid in list(call.playbacks):
            self._out.append(StopPlayback(pid, call_id=call.call_id))
            self._playbacks.pop(pid, None)
        call.playbacks.clear()
        self._moh(call, self.queues[call.queue], False)

    def _leave_queue(self, call: Call) -> None:
        self.waiting[call.queue].remove(call.call_id)
        self._out.append(CancelTimer(("maxwait", call.call_id)))
        if call.answered_mode:
            self._out.append(CancelTimer(("announce", call.call_id)))

    # ------------------------------------------------------------------ offering

    def _offer_timer(self, channel_id: str, now: float) -> None:
        self.offering.timer(channel_id, now)

    # ------------------------------------------------------------------ answer, greeting, bridge

    def _agent_answered(self, call: Call, channel_id: str, now: float) -> None:
        offer = call.offer
        if offer is None or offer.channel_id != channel_id:
            if channel_id != call.agent_channel:
                self.counters["late_answer"] += 1  # a leg we already gave up on
                self._out.append(Hangup(channel_id, call_id=call.call_id))
            return
        if call.state is not CallState.QUEUED or not call.caller_up:
            self.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
            return
        cid = call.call_id
        call.offer = None
        call.offers.append(offer.close(OfferResult.ANSWERED, now, self._periods[call.queue]))
        self._out.append(CancelTimer(("offer", channel_id)))
        call.agent_id = offer.agent_id
        call.agent_channel = channel_id
        call.agent_up = True
        if call.answered_at is None:
            call.answered_at = now  # a transferred caller's wait ended at the first answer
        call.taken_by = call.taken_by or offer.agent_id
        call.state = CallState.GREETING
        self._leave_queue(call)
        agent = self.agents.require(offer.agent_id)
        self.offering.agent_changed(agent.answered(cid, now))
        queue = self.queues[call.queue]
        if call.answered_mode:
            self._stop_queue_audio(call)
        else:
            call.answered_mode = True
            self._out.append(Answer(call.caller_channel, call_id=cid))
        greeting = self._render(
            queue.greeting + (queue.recording_notice if queue.record else ()), call
        )
        if greeting:
            pid = call.play("greet", once=True)
            self._playbacks[pid] = cid
            self._out.append(Play(call.caller_channel, pid, greeting, call_id=cid))
        whisper = self._render(queue.whisper, call)
        if whisper:
            pid = call.play("whisper", once=True)
            self._playbacks[pid] = cid
            self._out.append(Play(channel_id, pid, whisper, call_id=cid))
        self._call_state(call, "greeting", now, agent_id=agent.id)
        if call.playbacks:
            self._out.append(StartTimer(("greeting", cid), self.limits.greeting_seconds))
        else:
            self._bridge(call, now)

    def _render(self, media: tuple[str, ...], call: Call) -> tuple[str, ...]:
        agent = self.agents.get(call.agent_id) if call.agent_id else None
        values = {
            "agent_id": call.agent_id,
            "agent_name": agent.settings.name if agent else "",
            "queue": call.queue,
            "organisation": self.config.engine.organisation,
        }
        out = []
        for item in media:
            for name, value in values.items():
                item = item.replace("{" + name + "}", value)
            if not item.endswith(":"):
                out.append(item)
        return tuple(out)

    def _playback_done(self, call: Call, pid: str, now: float) -> None:
        kind = call.playbacks.pop(pid, None)
        if kind is None:
            return
        queue = self.queues[call.queue]
        if kind in ("greet", "whisper"):
            if call.state is CallState.GREETING and not call.playbacks:
                self._bridge(call, now)
        elif kind in ("welcome", "announce"):
            if call.state is CallState.QUEUED and not call.playbacks:
                self._moh(call, queue, True)
        elif kind == "prompt" and call.state is CallState.OVERFLOW:
            self._after_prompt(call, now)
        elif kind == "xfer" and call.transfer is not None:
            self.transfers.do(call, call.transfer.announced(now), now)

    def _greeting_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.state is CallState.GREETING:
            self.counters["greeting_timeout"] += 1
            for pid in list(call.playbacks):
                self._playbacks.pop(pid, None)
                self._out.append(StopPlayback(pid, call_id=call_id))
            call.playbacks.clear()
            self._bridge(call, now)

    def _bridge(self, call: Call, now: float) -> None:
        cid = call.call_id
        self._out.append(CancelTimer(("greeting", cid)))
        if not (call.caller_up and call.agent_up):
            return
        queue = self.queues[call.queue]
        call.talk_starts(now)
        if call.bridge_id and not call.bridge_destroyed:
            # back from a transfer to a queue: the caller never left the call's bridge and
            # its recording still runs; the new agent just joins
            call.state = CallState.BRIDGED
            self._out.append(AddToBridge(call.bridge_id, (call.agent_channel,), call_id=cid))
            self._call_state(call, "bridged", now, agent_id=call.agent_id)
            return
        bridge_id = f"br-{cid}"
        call.bridge_id = bridge_id
        self._bridges[bridge_id] = cid
        call.state = CallState.BRIDGED
        call.bridged_at = now
        self._out += [
            CreateBridge(bridge_id, call_id=cid),
            AddToBridge(bridge_id, (call.caller_channel, call.agent_channel), call_id=cid),
        ]
        if queue.record:
            name = f"call-{cid}"
            call.recording = name
            call.recording_format = queue.record_format
            call.recording_done = False
            self._recordings[name] = cid
            self._out.append(RecordBridge(bridge_id, name, queue.record_format, call_id=cid))
        self._out.append(StartTimer(("talk", cid), self.limits.talk_seconds))
        self._call_state(call, "bridged", now, agent_id=call.agent_id)

    # ------------------------------------------------------------------ overflow and prompts

    def _maxwait_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.state is CallState.QUEUED:
            self._overflow(call, "max_wait", now)

    def _announce_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.QUEUED:
            return
        queue = self.queues[call.queue]
        position = self.waiting[queue.name].position(call_id)
        serving = sum(1 for a in self.agents if a.logged_in and a.serves(queue.name))
        minutes = math.ceil(estimated_wait(position, self.handling[queue.name].mean, serving) / 60)
        if position <= 1:
            media: tuple[str, ...] = ("sound:queue-youarenext",)
        else:
            media = ("sound:queue-thereare", f"number:{position - 1}", "sound:queue-callswaiting")
        media += ("sound:queue-holdtime", f"number:{max(1, minutes)}", "sound:queue-minutes")
        if not call.playbacks:
            self._moh(call, queue, False)
            pid = call.play("announce")
            self._playbacks[pid] = call_id
            self._out.append(Play(call.caller_channel, pid, media, call_id=call_id))
        self._out.append(StartTimer(("announce", call_id), queue.announce_every_seconds))

    def _overflow(self, call: Call, reason: str, now: float) -> None:
        queue = self.queues[call.queue]
        if call.offer is not None:
            self.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
        if call.call_id in self.waiting[queue.name]:
            self._leave_queue(call)
        call.overflow = reason
        self.counters[f"overflow_{reason}"] += 1
        action = queue.overflow.action
        if action == "queue" and len(call.queues_visited) <= self.limits.overflow_hops:
            target = self.queues[queue.overflow.target]
            self._stop_queue_audio(call)
            call.queue = target.name
            call.queues_visited.append(target.name)
            self._out.append(SetVar(call.caller_channel, QUEUE, target.name, call_id=call.call_id))
            self._call_state(call, f"overflow:{target.name}", now)
            if self.agents.logged_in_for(target.name):
                self._enqueue(call, target, now)
            else:
                self._overflow(call, "no_agents", now)
            self.offering.dispatch(now)
            return
        if action == "voicemail":
            outcome, then = Outcome.VOICEMAIL, "voicemail"
        elif action == "callback":
            outcome, then = Outcome.CALLBACK, "hangup"
            self._out.append(
                Publish(
                    CallbackRequested(
                        call.call_id,
                        call.queue,
                        mask(call.caller_number),
                        now,
                        caller_number=call.caller_number,
                    )
                )
            )
        else:
            outcome, then = Outcome.CLOSED, "hangup"
        media = queue.overflow.media or _DEFAULT_OVERFLOW_MEDIA.get(action, queue.closed_media)
        self._prompt_then(call, media, outcome, then, now)
        self.offering.dispatch(now)

    def _prompt_then(
        self, call: Call, media: tuple[str, ...], outcome: Outcome, then: str, now: float
    ) -> None:
        """Answer if needed, play `media`, then hang up or record a voicemail."""
        cid = call.call_id
        self._stop_queue_audio(call)
        call.state = CallState.OVERFLOW
        call.overflow_at = now
        call.outcome = outcome
        call.after_prompt = then
        if not call.answered_mode:
            call.answered_mode = True
            self._out.append(Answer(call.caller_channel, call_id=cid))
        self._call_state(call, str(outcome), now)
        self._out.append(
            StartTimer(
                ("overflow", cid), self.limits.prompt_seconds + self.limits.voicemail_seconds
            )
        )
        rendered = self._render(media, call)
        if rendered:
            pid = call.play("prompt")
            self._playbacks[pid] = cid
            self._out.append(Play(call.caller_channel, pid, rendered, call_id=cid))
        else:
            self._after_prompt(call, now)

    def _after_prompt(self, call: Call, now: float) -> None:
        cid = call.call_id
        if not call.caller_up:
            return
        if call.after_prompt == "voicemail":
            name = f"vm-{cid}"
            call.recording = name
            call.recording_format = self.queues[call.queue].record_format
            call.recording_done = False
            self._recordings[name] = cid
            self._out.append(
                RecordChannel(
                    call.caller_channel,
                    name,
                    call.recording_format,
                    self.limits.voicemail_seconds,
                    call_id=cid,
                )
            )
        else:
            self._out.append(Hangup(call.caller_channel, call_id=cid))
            self._finish(call, now)

    def _overflow_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.state is CallState.OVERFLOW:
            self.counters["overflow_timeout"] += 1
            if call.recording and not call.recording_done:
                self._out.append(StopRecording(call.recording, call_id=call_id))
            self._out.append(Hangup(call.caller_channel, call_id=call_id))
            self._finish(call, now)

    # ------------------------------------------------------------------ hangups and the end

    def _leg_gone(self, channel_id: str, ev: Mapping[str, Any], now: float) -> None:
        call = self._call_of(channel_id)
        if call is None:
            self._channels.pop(channel_id, None)
            return
        if channel_id in call.aux_up and ev.get("type") != "ChannelHangupRequest":
            call.aux_up.discard(channel_id)
        if channel_id == call.caller_channel:
            if call.caller_up:
                call.caller_up = False
                self._caller_gone(call, now)
        elif call.xfer_offer is not None and call.xfer_offer.channel_id == channel_id:
            self.transfers.leg_gone(call, ev, now)
        elif channel_id and channel_id in (call.local_one, call.local_two):
            self.transfers.local_leg_gone(call, ev, now)
        elif call.offer is not None and call.offer.channel_id == channel_id:
            if ev.get("type") == "ChannelHangupRequest":
                return  # wait for Dial status or ChannelDestroyed: they say why
            self.offering.end(call, leg_result(ev.get("cause")), now, hangup=False)
            self.offering.dispatch(now)
        elif channel_id == call.agent_channel and call.agent_up:
            call.agent_up = False
            self._agent_gone(call, now)
        if call.state is CallState.ENDING:
            self._maybe_finalise(call, now)

    def _caller_gone(self, call: Call, now: float) -> None:
        state = call.state
        if state is CallState.TRANSFERRING and call.transfer is not None:
            call.hangup_by = "caller"
            self.transfers.do(call, call.transfer.caller_gone(now), now)
            self._end_talk(call, now)
        elif state is CallState.QUEUED:
            # queued again after a transfer: the call was answered, not abandoned
            call.outcome = self._answered_outcome(call) if call.taken_by else Outcome.ABANDONED
            call.hangup_by = "caller"
            if call.offer is not None:
                self.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
            self._leave_queue(call)
            self._finish(call, now)
            self.offering.dispatch(now)
        elif state in (CallState.GREETING, CallState.BRIDGED):
            call.hangup_by = "caller"
            self._end_talk(call, now)
        elif state is CallState.OVERFLOW:
            call.hangup_by = "caller"
            self._finish(call, now)

    def _agent_gone(self, call: Call, now: float) -> None:
        if call.state in (CallState.GREETING, CallState.BRIDGED):
            call.hangup_by = "agent"
            self._end_talk(call, now)
        elif call.state is CallState.TRANSFERRING and call.transfer is not None:
            t = call.transfer
            was_present = t.agent_present
            steps = t.agent_gone(now)
            if was_present:
                self.transfers.release_agent(call, now)
            if t.active:
                self._moh(call, self.queues[call.queue], True)
            self.transfers.do(call, steps, now)

    def _answered_outcome(self, call: Call) -> Outcome:
        return Outcome.TRANSFERRED if call.external else Outcome.ANSWERED

    def _end_talk(self, call: Call, now: float) -> None:
        """Either side left an answered call: clear the other side, agent to wrap-up."""
        cid = call.call_id
        call.outcome = self._answered_outcome(call)
        call.talk_ended_at = now
        since = call.talk_from if call.talk_from is not None else (call.bridged_at or now)
        call.talk_stops(now)
        call.hold_stops(now)
        for pid in list(call.playbacks):
            self._playbacks.pop(pid, None)
        call.playbacks.clear()
        self._out += [CancelTimer(("greeting", cid)), CancelTimer(("talk", cid))]
        if call.recording and not call.recording_done:
            self._out.append(StopRecording(call.recording, call_id=cid))
        if call.caller_up:
            self._out.append(Hangup(call.caller_channel, call_id=cid))
        if call.agent_up:
            self._out.append(Hangup(call.agent_channel, call_id=cid))
        if call.bridge_id and not call.bridge_destroyed:
            call.bridge_destroyed = True
            self._out.append(DestroyBridge(call.bridge_id, call_id=cid))
        agent = self.agents.get(call.agent_id)
        if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
            call.wrapup_started = now
            call.wrapup_agent = agent.id
            self._start_wrapup(call, agent, now, since)
        self._finish(call, now)

    def _start_wrapup(self, call: Call, agent: Agent, now: float, since: float | None) -> None:
        """`since`: when this agent's talk with the caller began, for the handling-time
        average (None: the agent only consulted, not a handled call)."""
        self.offering.agent_changed(agent.call_finished(now))
        if since is not None:
            self.handling[call.queue].add((now - since) + self.queues[call.queue].wrapup_seconds)
        wrapup = self.queues[call.queue].wrapup_seconds
        if wrapup > 0:
            self._out.append(StartTimer(("wrapup", agent.id), wrapup))
        else:
            self._wrapup_timer(agent.id, now)

    def _talk_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.state is CallState.BRIDGED:
            self.counters["talk_timeout"] += 1
            call.hangup_by = "engine"
            self._end_talk(call, now)

    def _finish(self, call: Call, now: float) -> None:
        if call.state is CallState.ENDING:
            return
        self.transfers.release_extras(call, now)
        call.state = CallState.ENDING
        call.ended_at = now
        self._out.append(StartTimer(("cleanup", call.call_id), self.limits.cleanup_seconds))
        self._call_state(call, "ended", now, agent_id=call.agent_id)
        self._maybe_finalise(call, now)

    def _maybe_finalise(self, call: Call, now: float, *, force: bool = False) -> None:
        if call.state is not CallState.ENDING:
            return
        if not force and not (call.legs_down and call.recording_done):
            return
        cid = call.call_id
        self._out.append(CancelTimer(("cleanup", cid)))
        call.state = CallState.WRAPUP
        self.calls.pop(cid, None)
        legs = [
            call.caller_channel,
            call.agent_channel,
            *(o.channel_id for o in call.offers),
            *call.aux_channels,
        ]
        if force:
            legs += [k for k, v in self._channels.items() if v == cid]
        for leg in legs:
            if self._channels.pop(leg, None) is not None:
                self._forget(leg)
        for pid in call.playbacks:
            self._playbacks.pop(pid, None)
        self._bridges.pop(call.bridge_id, None)
        self._bridges.pop(call.consult_bridge, None)
        if call.recording:
            self._recordings.pop(call.recording, None)
            started = call.bridged_at or call.answered_at or call.arrived_at
            ended = call.talk_ended_at or call.ended_at or now
            duration = call.recording_seconds
            self._out.append(
                Publish(
                    RecordingReady(
                        RecordingInfo(
                            name=call.recording,
                            format=call.recording_format,
                            call_id=cid,
                            queue=call.queue,
                            agent_id=call.agent_id,
                            caller=mask(call.caller_number),
                            started_at=started,
                            ended_at=ended,
                            duration_seconds=duration if duration is not None else ended - started,
                        )
                    )
                )
            )
        if call.wrapup_started is not None and call.wrapup_ended is None:
            self._wrapping[cid] = call  # the summary waits for the agent's wrap-up
        else:
            self._out.append(Publish(CallEnded(call.summary())))

    def _cleanup_timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.ENDING:
            return
        self.counters["cleanup_forced"] += 1
        log.warning("call %s: legs or recording not confirmed gone; forgetting it", call_id)
        if call.caller_up:
            self._out.append(Hangup(call.caller_channel, call_id=call_id))
        if call.agent_up:
            self._out.append(Hangup(call.agent_channel, call_id=call_id))
        call.caller_up = call.agent_up = False
        call.recording_done = True
        self._maybe_finalise(call, now, force=True)

    def _cool_timer(self, agent_id: str, now: float) -> None:
        self.offering.dispatch(now)

    def _wrapup_timer(self, agent_id: str, now: float) -> None:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not AgentState.WRAPUP:
            return
        call_id = agent.call_id
        self.offering.agent_changed(agent.wrapup_done(now))
        self._wrapup_finished(call_id, agent_id, now)
        self.offering.dispatch(now)

    def _wrapup_finished(self, call_id: str, agent_id: str, now: float) -> None:
        """Only the wrap-up of the agent who ended the call closes its summary; an agent
        who transferred the call away wraps up on their own."""
        call = self.calls.get(call_id)
        if call is not None:
            if call.wrapup_agent == agent_id:
                call.wrapup_ended = now
            return
        call = self._wrapping.get(call_id)
        if call is not None and call.wrapup_agent == agent_id:
            del self._wrapping[call_id]
            call.wrapup_ended = now
            self._out.append(Publish(CallEnded(call.summary())))

    def _fail_related(self, event: Mapping[str, Any], now: float) -> None:
        """A bug met this event: end the call it belongs to rather than leave it stuck."""
        ch = event.get("channel") or event.get("peer") or {}
        call = self._call_of(ch.get("id", "")) if isinstance(ch, Mapping) else None
        if call is None or call.state is CallState.WRAPUP:
            return
        try:
            call.outcome = call.outcome or Outcome.FAILED
            if call.offer is not None:
                self.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
            if call.call_id in self.waiting[call.queue]:
                self._leave_queue(call)
            if call.state in (CallState.GREETING, CallState.BRIDGED, CallState.TRANSFERRING):
                self._end_talk(call, now)
            else:
                if call.caller_up:
                    self._out.append(Hangup(call.caller_channel, call_id=call.call_id))
                self._finish(call, now)
        except Exception:
            log.exception("could not clean up call %s", call.call_id)

    # ------------------------------------------------------------------ transfers

    def resolve_target(self, kind: str, name: str) -> Target:
        """An API target — a department of the directory, a queue or an agent — as a
        `Target`. Raises TransferError(not_found)."""
        return self.transfers.resolve_target(kind, name)

    def transfer(self, call_id: str, kind: str, target: Target, now: float) -> list[Command]:
        """An agent's blind or attended transfer. Raises TransferError."""
        self.transfers.request(call_id, kind, target, now)
        return self._take()

    def complete_transfer(self, call_id: str, now: float) -> list[Command]:
        self.transfers.complete(call_id, now)
        return self._take()

    def cancel_transfer(self, call_id: str, now: float) -> list[Command]:
        self.transfers.cancel(call_id, now)
        return self._take()

    @property
    def phone_transfers(self) -> str:
        return self.transfers.phone_transfers

    @phone_transfers.setter
    def phone_transfers(self, how: str) -> None:
        self.transfers.phone_transfers = how
        self.offering.phone_transfers = how

    def _xfer_timer(self, call_id: str, now: float) -> None:
        self.transfers.timer(call_id, now)

    def _local_timer(self, two: str, now: float) -> None:
        self.transfers.local_timer(two, now)

    # ------------------------------------------------------------------ supervision

    def monitor(
        self, call_id: str, mode: str, device: str, by: str, now: float
    ) -> tuple[Monitor, list[Command]]:
        """Start monitoring a live call's agent leg. Raises MonitorError."""
        session = self.monitoring.start(call_id, mode, device, by, now)
        return session, self._take()

    def change_monitor(self, session_id: str, mode: str, now: float) -> list[Command]:
        self.monitoring.change(self.monitoring.session(session_id), mode, now)
        return self._take()

    def stop_monitor(self, session_id: str, now: float) -> list[Command]:
        self.monitoring.end(self.monitoring.session(session_id), "stopped", now)
        return self._take()

    # ------------------------------------------------------------------ feature codes

    def pin_checked(self, channel_id: str, ok: bool, now: float) -> list[Command]:
        """The answer to a `CheckPin` (from a worker thread, back on the loop)."""
        try:
            self.feature_calls.pin_checked(channel_id, ok, now)
        except Exception:
            self.counters["errors"] += 1
            log.exception("error after the PIN check of %s", channel_id)
            self._out.append(Hangup(channel_id, call_id=channel_id))
        return self._take()

    def _digits_timer(self, channel_id: str, now: float) -> None:
        self.feature_calls.digits_timer(channel_id, now)

    def _feature_timer(self, channel_id: str, now: float) -> None:
        self.feature_calls.feature_timer(channel_id, now)

    # ------------------------------------------------------------------ REST failures

    def _failed(self, command: AriCommand, status: int, now: float) -> None:
        if command.call_id in self.feature_calls.channels:
            self.feature_calls.failed(command, status, now)
            return
        session = self.monitoring.of_command(command)
        if session is not None:
            if not isinstance(command, Hangup | DestroyBridge | SetVar):
                self.counters["monitor_failed"] += 1
                self.monitoring.end(session, "failed", now)
            return
        call = self.calls.get(command.call_id)
        if call is None:
            return
        gone = status in GONE_STATUSES
        if isinstance(command, RemoveFromBridge | TransferProgress):
            return  # the channel already left; the REFER already ended
        offer = call.xfer_offer
        if (
            isinstance(command, CreateChannel | Dial)
            and offer
            and offer.channel_id == command.channel_id
        ):
            call.aux_up.discard(command.channel_id)
            self.transfers.leg_failed(
                call, OfferResult.UNAVAILABLE, now, hangup=isinstance(command, Dial)
            )
            return
        if isinstance(command, Hangup):
            if gone:
                self._leg_gone(command.channel_id, {}, now)
        elif isinstance(command, CreateChannel | Dial):
            if call.offer is not None and call.offer.channel_id == command.channel_id:
                self.offering.end(
                    call, OfferResult.UNAVAILABLE, now, hangup=isinstance(command, Dial)
                )
                self.offering.dispatch(now)
        elif isinstance(command, Play):
            if command.channel_id == call.caller_channel and gone:
                self._leg_gone(call.caller_channel, {}, now)
            else:
                self._playbacks.pop(command.playback_id, None)
                self._playback_done(call, command.playback_id, now)
        elif isinstance(command, SetVar | Ring | Answer | StartMoh | RecordChannel):
            if gone and command.channel_id == call.caller_channel:
                self._leg_gone(call.caller_channel, {}, now)
            elif isinstance(command, RecordChannel):
                self._recordings.pop(command.name, None)
                call.recording_done = True
                self._after_failed_voicemail(call, now)
        elif isinstance(command, CreateBridge | AddToBridge):
            self.counters["bridge_failed"] += 1
            if call.state in (CallState.BRIDGED, CallState.TRANSFERRING):
                call.hangup_by = "engine"
                self._end_talk(call, now)
        elif isinstance(command, RecordBridge):
            self._recordings.pop(command.name, None)
            call.recording = ""
            call.recording_done = True
            self._maybe_finalise(call, now)

    def _after_failed_voicemail(self, call: Call, now: float) -> None:
        if call.caller_up:
            self._out.append(Hangup(call.caller_channel, call_id=call.call_id))
        self._finish(call, now)

    # ------------------------------------------------------------------ helpers

    _timers: ClassVar[dict[str, Callable[[Switchboard, str, float], None]]] = {
        "offer": _offer_timer,
        "maxwait": _maxwait_timer,
        "announce": _announce_timer,
        "greeting": _greeting_timer,
        "talk": _talk_timer,
        "overflow": _overflow_timer,
        "cleanup": _cleanup_timer,
        "wrapup": _wrapup_timer,
        "cool": _cool_timer,
        "xfer": _xfer_timer,
        "local": _local_timer,
        "digits": _digits_timer,
        "feature": _feature_timer,
    }

    def _forget(self, channel_id: str) -> None:
        """Remember a finished call's legs for a while: their last events are not strays."""
        self._forgotten[channel_id] = None
        if len(self._forgotten) > _FORGET_AFTER:
            self._forgotten.popitem(last=False)

    def _take(self) -> list[Command]:
        out = self._out.copy()
        self._out.clear()  # the list is shared with the collaborators (monitoring, ...)
        return out

    def _call_of(self, channel_id: str) -> Call | None:
        call_id = self._channels.get(channel_id)
        return self.calls.get(call_id) if call_id else None

    def _ours(self, ch: Mapping[str, Any]) -> bool:
        dialplan = ch.get("dialplan") or {}
        data = str(dialplan.get("app_data") or "")
        return dialplan.get("app_name") == "Stasis" and data.split(",")[0] == self.app

    def _logged_in(self, agent_id: str) -> Agent:
        agent = self.agents.require(agent_id)
        if not agent.logged_in:
            raise AgentError("not_logged_in", f"agent {agent_id} is not logged in")
        return agent

    def _call_state(
        self, call: Call, state: str, now: float, *, agent_id: str = "", position: int = 0
    ) -> None:
        self._publish(CallStateChanged(call.call_id, call.queue, state, now, agent_id, position))

    def _publish(self, event: DomainEvent) -> None:
        self._out.append(Publish(event))
