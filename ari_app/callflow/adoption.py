"""A new engine takes over what the old one left: agents' saved sessions, and the calls
Asterisk still holds in the app, rebuilt from the channels' `HOTLINE_*` variables, the
bridges (`br-*`, `xfer-*`, `spy-*`), the live recordings and the records of live calls.

- A talking call (caller and agent or outside party in `br-<call>`) goes on as it was:
  same bridge, same recording (its recorder snoop `rec-<call>`, appArgs `recorder`, and
  its live `call-<call>`), the agent back on it. A recorder snoop whose recording is not
  live any more, or whose call is not adopted, is hung up.
- A consultation (`xfer-<call>`) is resolved: the agent returns to the caller, the
  consulted leg is hung up.
- An agent who answered but was not bridged yet is bridged now.
- A ringing offer is resolved: the leg is hung up (it does not count against the agent)
  and the caller goes back in line.
- A waiting caller goes back in their queue with their original arrival time.
- A voicemail being recorded is left to finish.
- A caller answering the post-call survey (`HOTLINE_SURVEY` set, alone) hears it again
  from the first question, credited to the same agent.
- A channel nobody can be found for (a monitoring or feature-code call, a leg of a call
  that is gone) is hung up and counted; a stray spy or consultation bridge is destroyed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.recorder import recorder_id, recording_name
from ari_app.domain.commands import (
    AGENT_ID,
    CALL_ID,
    QUEUE,
    RECORDER_ARGS,
    ROLE,
    SURVEY,
    AddToBridge,
    DestroyBridge,
    Hangup,
    SetVar,
    StartTimer,
)
from ari_app.domain.events import AgentState, CallProgress, Outcome
from ari_app.domain.privacy import mask
from ari_app.domain.timestamps import TimestampError, parse_ari_timestamp

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AgentSession:
    """An agent's last saved state (from the records)."""

    agent_id: str
    state: str
    reason: str
    device: str
    since: float


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the records knew of a live call that Asterisk cannot tell."""

    arrived_at: float
    answered_at: float | None
    agent_id: str


def _time(obj: Json | None, default: float) -> float:
    raw = obj.get("creationtime") if obj else None
    if not isinstance(raw, str):
        return default
    try:
        return parse_ari_timestamp(raw)
    except TimestampError:
        return default


def _within(at: float, earliest: float, latest: float) -> float:
    """`at` if it lies in [earliest, latest], else the nearest end."""
    return min(max(at, earliest), latest)


def _vars(ch: Json) -> Mapping[str, Any]:
    cvars = ch.get("channelvars")
    return cvars if isinstance(cvars, Mapping) else {}


def _is_recorder(ch: Json) -> bool:
    """A call's recorder snoop: `Stasis(<app>,recorder)` (it carries no HOTLINE_* tags)."""
    data = str((ch.get("dialplan") or {}).get("app_data") or "").split(",")
    return data[1:2] == [RECORDER_ARGS]


class Adoption:
    """Rebuilds agents and calls on the desk from what a restart finds."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self._in_line: list[Call] = []
        self._recorders: set[str] = set()  # recorder snoops found by the adoption running

    # ------------------------------------------------------------------ agents

    def restore_agents(self, sessions: Iterable[AgentSession], now: float) -> None:
        """Agents logged in before the restart are logged in again, paused with their
        reason, or in the rest of their wrap-up. A saved ringing or talking agent is
        available until a call is adopted for them."""
        desk = self.desk
        for s in sessions:
            agent = desk.agents.get(s.agent_id)
            if agent is None or agent.logged_in or s.state == AgentState.LOGGED_OUT:
                continue
            try:
                saved = AgentState(s.state)
            except ValueError:
                desk.count("agent_restore_unknown_state")
                continue
            state, reason, since = AgentState.AVAILABLE, "", s.since
            if saved is AgentState.PAUSED:
                state, reason = AgentState.PAUSED, s.reason
            elif saved is AgentState.WRAPUP:
                left = self._wrapup_left(s, now)
                if left > 0:
                    state = AgentState.WRAPUP
                    desk.emit(StartTimer(("wrapup", s.agent_id), left))
                else:
                    since = now
            elif saved is not AgentState.AVAILABLE:
                since = now
            desk.agents.restore(s.agent_id, s.device, state, reason, since)
            self.flow.offering.agent_restored(agent)
            desk.count("agents_restored")

    def _wrapup_left(self, s: AgentSession, now: float) -> float:
        agent = self.desk.agents.require(s.agent_id)
        wrapups = [q.wrapup_seconds for q in self.desk.queues.values() if agent.serves(q.name)]
        return max(wrapups, default=0.0) - (now - s.since)

    # ------------------------------------------------------------------ calls

    def adopt(
        self,
        channels: Iterable[Json],
        bridges: Iterable[Json],
        live_recordings: Iterable[str],
        facts: Mapping[str, CallFacts],
        now: float,
    ) -> None:
        """Take in every channel of the app the flow does not know yet."""
        desk, flow = self.desk, self.flow
        known = flow.monitoring.channels.keys() | flow.features.channels.keys()
        new = {
            ch["id"]: ch
            for ch in channels
            if isinstance(ch.get("id"), str)
            and not desk.owns(ch["id"])
            and ch["id"] not in known
        }
        by_bridge = {b["id"]: b for b in bridges if isinstance(b.get("id"), str)}
        recording = set(live_recordings)
        self._recorders = {c for c, ch in new.items() if _is_recorder(ch)}
        callers = [ch for ch in new.values() if _vars(ch).get(ROLE, "") in ("", "caller")
                   and ch["id"] not in self._recorders]
        callers.sort(key=lambda ch: (facts[ch["id"]].arrived_at if ch["id"] in facts
                                     else _time(ch, now), ch["id"]))
        by_call: dict[str, list[Json]] = {}  # one pass: a scan per caller is quadratic
        for c in new.values():
            tag = _vars(c).get(CALL_ID)
            if isinstance(tag, str):
                by_call.setdefault(tag, []).append(c)
        taken: set[str] = set()
        for ch in callers:
            call = self._caller(ch, facts.get(ch["id"]), now)
            if call is None:
                continue
            taken.add(ch["id"])
            legs = [c for c in by_call.get(call.call_id, ()) if c["id"] != ch["id"]]
            surveyed = str(_vars(ch).get(SURVEY) or "")
            if surveyed and not legs and f"br-{call.call_id}" not in by_bridge:
                # the talk was over; the caller was answering the survey: it starts again
                desk.count("adopted_survey")
                flow.surveys.adopt(call, surveyed, now)
                continue
            taken.update(self._place(call, legs, by_bridge, recording, now))
            taken.update(c["id"] for c in legs)  # kept, or hung up by _place: not again
        self._queue_again(now)
        for channel_id in new.keys() - taken:
            desk.count("unattributed_hung_up")
            desk.emit(Hangup(channel_id))
        for bridge_id in by_bridge:
            if not self._bridge_wanted(bridge_id):
                desk.count("orphan_bridges")
                desk.emit(DestroyBridge(bridge_id))
        flow.offering.dispatch(now)

    def _bridge_wanted(self, bridge_id: str) -> bool:
        """A bridge of a call or monitoring session the flow holds; anything else of ours
        (`br-`, `xfer-`, `spy-`) is left over from calls that are gone."""
        desk = self.desk
        if bridge_id.startswith("br-"):
            return desk.owns_bridge(bridge_id)
        if bridge_id.startswith("xfer-"):
            call = desk.calls.get(bridge_id[5:])
            return call is not None and call.consult_bridge == bridge_id
        if bridge_id.startswith("spy-"):
            return bridge_id in self.flow.monitoring.bridges
        return True  # not one of ours

    def _caller(self, ch: Json, facts: CallFacts | None, now: float) -> Call | None:
        desk = self.desk
        cvars = _vars(ch)
        number = str((ch.get("caller") or {}).get("number") or "")
        queue = desk.queues.get(str(cvars.get(QUEUE) or ""))
        if queue is None:
            exten = str((ch.get("dialplan") or {}).get("exten") or "")
            queue = desk.config.queue_for_number(exten)
        if queue is None:
            return None
        arrived = facts.arrived_at if facts is not None else _time(ch, now)
        call = Call(
            call_id=ch["id"],
            caller_channel=ch["id"],
            queue=queue.name,
            vip=number in queue.vip_numbers,
            arrived_at=arrived,
            seq=desk.next_seq(),
            caller_number=number,
            caller_answered=ch.get("state") == "Up",
        )
        call.queues_visited.append(queue.name)
        for name, value in ((ROLE, "caller"), (QUEUE, queue.name), (CALL_ID, call.call_id)):
            if cvars.get(name) != value:  # arrived while the engine was away: tag it now
                desk.emit(SetVar(call.caller_channel, name, value, call_id=call.call_id))
        if facts is not None:
            call.answered_at = facts.answered_at
            call.taken_by = facts.agent_id
        desk.add_call(call)
        desk.count("adopted")
        desk.publish(
            CallProgress(call.call_id, call.queue, mask(number), arrived, call.answered_at,
                         call.taken_by, caller_number=number)
        )
        return call

    def _place(
        self,
        call: Call,
        legs: list[Json],
        by_bridge: Mapping[str, Json],
        recording: set[str],
        now: float,
    ) -> set[str]:
        """Put the adopted call where it was; returns the legs it keeps."""
        desk, flow = self.desk, self.flow
        cid = call.call_id
        bridge_id = f"br-{cid}"
        bridge = by_bridge.get(bridge_id)
        in_bridge = set(_members(bridge))
        consult = _members(by_bridge.get(f"xfer-{cid}"))
        kept: set[str] = set()
        name, snoop = recording_name(cid), recorder_id(cid)
        if name in recording and snoop in self._recorders:
            # the call's recording goes on, across the restart, on its recorder snoop
            flow.recorder.adopted(call, snoop, name)
            kept.add(snoop)
        party = next(
            (c for c in legs if c["id"] in in_bridge or c["id"] in consult), None
        ) or next((c for c in legs if c.get("state") == "Up"), None)
        for leg in legs:
            if leg is not party:
                role = _vars(leg).get(ROLE)
                desk.count("offers_resolved" if role == "agent" else "legs_dropped")
                desk.emit(Hangup(leg["id"], call_id=cid))
                call.used_legs.add(leg["id"])  # a re-offer must not reuse its id
        if bridge is not None:
            call.bridged(bridge_id)
            desk.add_bridge(bridge_id, call)
            if name in recording and not call.recorder:
                # a bridge's recording (an engine from before the recorder snoop): goes on
                call.recording_started(name, desk.queues[call.queue].record_format)
                desk.add_recording(name, call)
        if party is None:
            return kept | self._waiting(call, recording, now)
        kept.add(party["id"])
        desk.attach(party["id"], call)
        call.agent_joined(party["id"])
        role = _vars(party).get(ROLE)
        agent = desk.agents.get(str(_vars(party).get(AGENT_ID) or "")) if role == "agent" else None
        if agent is not None:
            call.agent_id = agent.id
            call.taken_by = call.taken_by or agent.id
            desk.agents.restore(agent.id, agent.device or _device(party), AgentState.TALKING,
                                "", now, call_id=cid)
            flow.offering.agent_restored(agent)
        else:
            call.external = True
        if call.answered_at is None:  # unknown: the offer's start is the closest
            call.answered_at = _within(_time(party, now), call.arrived_at, now)
        call.move(CallState.GREETING)
        if party["id"] in consult:
            # a consultation was running: the agent comes back to the caller
            desk.count("consultations_resolved")
            desk.emit(AddToBridge(bridge_id, (party["id"],), call_id=cid))
            for other in consult:
                if other != party["id"]:
                    desk.emit(Hangup(other, call_id=cid))
            desk.emit(DestroyBridge(f"xfer-{cid}", call_id=cid))
            in_bridge.add(party["id"])
        if party["id"] in in_bridge:
            # Asterisk's clock: trusted only between the arrival and now (a skewed host's
            # time must not become hours of talk)
            call.bridged_at = _within(_time(bridge, now), call.answered_at or call.arrived_at, now)
            call.move(CallState.BRIDGED)
            call.talk_starts(call.bridged_at)  # the talk began before the restart
            desk.emit(StartTimer(("talk", cid), desk.limits.talk_seconds))
            desk.count("adopted_talking")
            desk.call_state(call, "bridged", now, agent_id=call.agent_id)
        else:
            flow.answering.bridge(call, now)  # answered, not bridged yet: bridge now
        return kept

    def _waiting(self, call: Call, recording: set[str], now: float) -> set[str]:
        desk = self.desk
        name = f"vm-{call.call_id}"
        if name in recording:
            call.move(CallState.OVERFLOW)
            call.outcome = Outcome.VOICEMAIL
            call.overflow_at = now
            call.after_prompt = "voicemail"
            call.recording_started(name, desk.queues[call.queue].record_format)
            desk.add_recording(name, call)
            limits = desk.limits
            desk.emit(StartTimer(("overflow", call.call_id), limits.voicemail_seconds))
            desk.count("adopted_voicemail")
            return set()
        desk.count("adopted_waiting")
        self._in_line.append(call)
        return set()

    def _queue_again(self, now: float) -> None:
        """Waiting callers go back in line once every adopted agent is on their call, so
        none is offered to an agent who is in fact talking."""
        desk = self.desk
        for call in self._in_line:
            if desk.agents.logged_in_for(call.queue):
                self.flow.arrival.enqueue(call, desk.queues[call.queue], now)
            else:
                self.flow.overflow.start(call, "no_agents", now)
        self._in_line.clear()


def _members(bridge: Json | None) -> list[str]:
    channels = bridge.get("channels") if bridge else None
    return [c for c in channels or () if isinstance(c, str)]


def _device(ch: Json) -> str:
    """`PJSIP/1001-00000002` -> `PJSIP/1001`."""
    name = str(ch.get("name") or "")
    return name.rsplit("-", 1)[0] if "-" in name else name
