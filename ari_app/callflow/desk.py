"""What every room of the call flow shares, behind one small API.

The rooms (arrival, offering, answering, overflow, ending, transfers, supervision, feature
codes) each decide a part of a call's life; they all need the same few things: the
settings, the agents, the queues' waiting lines, which call a channel, playback, bridge or
recording belongs to, the commands waiting for the shell, and the counters. They get them
from the `Desk` and nowhere else, so no room reaches into another's dictionaries.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ari_app.callflow.agents import AgentRegistry
from ari_app.callflow.call import Call
from ari_app.callflow.queueing import HandlingTime, WaitingList
from ari_app.config.settings import Config, Hours, QueueSettings
from ari_app.domain.commands import Command, Note, Publish
from ari_app.domain.events import CallStateChanged, DomainEvent

IsOpen = Callable[[Hours | None, datetime], bool]
RingPeriod = Callable[[str], float]

_FORGET_AFTER = 4096


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


class Desk:
    """The settings, the calls and their ids, the pending commands and the counters."""

    def __init__(
        self,
        config: Config,
        agents: AgentRegistry,
        *,
        ring_period: RingPeriod,
        is_open: IsOpen,
        limits: Limits,
        phone_transfers: str,
    ) -> None:
        self.config = config
        self.app = config.engine.app
        self.limits = limits
        self.agents = agents
        self.is_open = is_open
        self.phone_transfers = phone_transfers
        self.queues: dict[str, QueueSettings] = {q.name: q for q in config.queues}
        self.waiting: dict[str, WaitingList] = {q: WaitingList() for q in self.queues}
        self.handling: dict[str, HandlingTime] = {q: HandlingTime() for q in self.queues}
        self.periods = {q.name: ring_period(config.queue_country(q)) for q in config.queues}
        self.calls: dict[str, Call] = {}
        self.counters: Counter[str] = Counter()
        self._channels: dict[str, str] = {}  # channel id -> call id
        self._playbacks: dict[str, str] = {}  # playback id -> call id
        self._bridges: dict[str, str] = {}  # bridge id -> call id
        self._recordings: dict[str, str] = {}  # recording name -> call id
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self._out: list[Command] = []
        self._seq = 0

    # ------------------------------------------------------------------ commands out

    def emit(self, *commands: Command) -> None:
        self._out.extend(commands)

    def publish(self, event: DomainEvent) -> None:
        self._out.append(Publish(event))

    def note(self, level: str, message: str) -> None:
        """Something worth a log line: the shell writes it (the core does no I/O)."""
        self._out.append(Note(level, message))

    def call_state(
        self, call: Call, state: str, now: float, *, agent_id: str = "", position: int = 0
    ) -> None:
        self.publish(CallStateChanged(call.call_id, call.queue, state, now, agent_id, position))

    def take(self) -> list[Command]:
        """The commands decided since the last take, in order."""
        out, self._out = self._out, []
        return out

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    # ------------------------------------------------------------------ calls and their ids

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_call(self, call: Call) -> None:
        self.calls[call.call_id] = call
        self._channels[call.caller_channel] = call.call_id

    def drop_call(self, call_id: str) -> None:
        self.calls.pop(call_id, None)

    def attach(self, channel_id: str, call: Call) -> None:
        """`channel_id` (a leg, a target, a Local half) belongs to `call`."""
        self._channels[channel_id] = call.call_id

    def detach(self, channel_id: str) -> bool:
        """Forget a finished call's leg; its last events are then not strays."""
        if self._channels.pop(channel_id, None) is None:
            return False
        self.forget(channel_id)
        return True

    def owns(self, channel_id: str) -> bool:
        return channel_id in self._channels

    def call_of(self, channel_id: str) -> Call | None:
        call_id = self._channels.get(channel_id)
        return self.calls.get(call_id) if call_id else None

    def channels(self) -> Iterator[str]:
        return iter(list(self._channels))

    def channels_of(self, call_id: str) -> list[str]:
        return [c for c, owner in self._channels.items() if owner == call_id]

    def live_channels(self) -> int:
        return len(self._channels)

    def forget(self, channel_id: str) -> None:
        self._forgotten[channel_id] = None
        if len(self._forgotten) > _FORGET_AFTER:
            self._forgotten.popitem(last=False)

    def forgotten(self, channel_id: str) -> bool:
        return channel_id in self._forgotten

    def add_playback(self, playback_id: str, call: Call) -> None:
        self._playbacks[playback_id] = call.call_id

    def take_playback(self, playback_id: str) -> Call | None:
        call_id = self._playbacks.pop(playback_id, None)
        return self.calls.get(call_id) if call_id else None

    def drop_playback(self, playback_id: str) -> None:
        self._playbacks.pop(playback_id, None)

    def add_bridge(self, bridge_id: str, call: Call) -> None:
        self._bridges[bridge_id] = call.call_id

    def drop_bridge(self, bridge_id: str) -> None:
        self._bridges.pop(bridge_id, None)

    def owns_bridge(self, bridge_id: str) -> bool:
        return bridge_id in self._bridges

    def add_recording(self, name: str, call: Call) -> None:
        self._recordings[name] = call.call_id

    def take_recording(self, name: str) -> Call | None:
        call_id = self._recordings.pop(name, None)
        return self.calls.get(call_id) if call_id else None

    # ------------------------------------------------------------------ settings

    def ring_seconds(self, queue: QueueSettings) -> float:
        """The RONA time: the queue's rings × its country's ring cadence period."""
        return self.config.queue_rings(queue) * self.periods[queue.name]

    def render(self, media: tuple[str, ...], call: Call) -> tuple[str, ...]:
        """Media with `{agent_id}`, `{agent_name}`, `{queue}`, `{organisation}` filled in;
        an item left empty by its value (`digits:`) is dropped."""
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
