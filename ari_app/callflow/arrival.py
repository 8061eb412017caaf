"""A caller arrives and waits: the call is made, tagged, checked (blocklist, opening hours,
agents logged in) and queued with ringback or music and announcements."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.queueing import estimated_wait
from ari_app.config.settings import QueueSettings
from ari_app.domain.commands import (
    CALL_ID,
    QUEUE,
    ROLE,
    Answer,
    CancelTimer,
    Hangup,
    Play,
    Ring,
    SetVar,
    StartMoh,
    StartTimer,
    StopMoh,
    StopPlayback,
)
from ari_app.domain.events import CallProgress, Outcome
from ari_app.domain.privacy import mask

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class Arrival:
    """New calls, the queues' waiting lines and what a waiting caller hears."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def new_call(self, ch: Mapping[str, Any], args: list[Any], now: float) -> None:
        desk = self.desk
        channel_id = ch["id"]
        number = str((ch.get("caller") or {}).get("number") or "")
        queue = self._queue_for(args, ch)
        if queue is None:
            desk.count("unknown_queue")
            desk.note("warning", f"no queue for channel {channel_id} (args {args[:1]})")
            desk.emit(Hangup(channel_id))
            return
        call = Call(
            call_id=channel_id,
            caller_channel=channel_id,
            queue=queue.name,
            vip=number in queue.vip_numbers,
            arrived_at=now,
            seq=desk.next_seq(),
            caller_number=number,
        )
        call.queues_visited.append(queue.name)
        desk.add_call(call)
        desk.count("calls")
        cid = call.call_id
        # the call's record is written from now on, not only when it ends
        desk.publish(CallProgress(cid, queue.name, mask(number), now, caller_number=number))
        desk.emit(
            SetVar(channel_id, ROLE, "caller", call_id=cid),
            SetVar(channel_id, QUEUE, queue.name, call_id=cid),
            SetVar(channel_id, CALL_ID, cid, call_id=cid),
        )
        if number and number in desk.config.blocklist:
            call.outcome = Outcome.BLOCKED
            desk.emit(Hangup(channel_id, call_id=cid))
            self.flow.ending.finish(call, now)
            return
        if not desk.is_open(queue.hours, datetime.fromtimestamp(now, UTC)):
            call.overflow = "closed_hours"
            self.flow.overflow.prompt_then(call, queue.closed_media, Outcome.CLOSED, "hangup", now)
            return
        if not desk.agents.logged_in_for(queue.name):
            self.flow.overflow.start(call, "no_agents", now)
            return
        self.enqueue(call, queue, now)

    def _queue_for(self, args: list[Any], ch: Mapping[str, Any]) -> QueueSettings | None:
        if args and isinstance(args[0], str) and args[0] in self.desk.queues:
            return self.desk.queues[args[0]]
        exten = str((ch.get("dialplan") or {}).get("exten") or "")
        return self.desk.config.queue_for_number(exten)

    def enqueue(self, call: Call, queue: QueueSettings, now: float) -> None:
        desk = self.desk
        cid = call.call_id
        if queue.mode == "answer" and not call.caller_answered:
            call.caller_answered = True
            desk.emit(Answer(call.caller_channel, call_id=cid))
            if queue.welcome:
                pid = call.play("welcome", once=True)
                desk.add_playback(pid, call)
                desk.emit(Play(call.caller_channel, pid, desk.render(queue.welcome, call)))
            else:
                self.moh(call, queue, True)
        elif queue.mode == "ringback" and not call.caller_answered:
            desk.emit(Ring(call.caller_channel, call_id=cid))
        elif not call.playbacks:
            self.moh(call, queue, True)
        call.move(CallState.QUEUED)
        desk.waiting[queue.name].add(cid, vip=call.vip, seq=call.seq)
        desk.emit(StartTimer(("maxwait", cid), queue.max_wait_seconds))
        self.flow.callbacks.queued(call, now)
        if call.caller_answered and queue.announce_every_seconds > 0:
            desk.emit(StartTimer(("announce", cid), queue.announce_every_seconds))
        desk.call_state(call, "queued", now, position=desk.waiting[queue.name].position(cid))
        self.flow.offering.dispatch(now)

    def moh(self, call: Call, queue: QueueSettings, on: bool) -> None:
        if on and not call.moh:
            self.desk.emit(StartMoh(call.caller_channel, queue.moh_class, call_id=call.call_id))
        elif not on and call.moh:
            self.desk.emit(StopMoh(call.caller_channel, call_id=call.call_id))
        call.moh = on

    def stop_queue_audio(self, call: Call) -> None:
        for pid in list(call.playbacks):
            self.desk.emit(StopPlayback(pid, call_id=call.call_id))
            self.desk.drop_playback(pid)
        call.playbacks.clear()
        self.moh(call, self.desk.queues[call.queue], False)

    def leave_queue(self, call: Call) -> None:
        self.desk.waiting[call.queue].remove(call.call_id)
        self.desk.emit(CancelTimer(("maxwait", call.call_id)))
        if call.caller_answered:
            self.desk.emit(CancelTimer(("announce", call.call_id)))

    def maxwait_timer(self, call_id: str, now: float) -> None:
        call = self.desk.calls.get(call_id)
        if call is not None and call.state is CallState.QUEUED:
            self.flow.overflow.start(call, "max_wait", now)

    def announce_timer(self, call_id: str, now: float) -> None:
        desk = self.desk
        call = desk.calls.get(call_id)
        if call is None or call.state is not CallState.QUEUED:
            return
        queue = desk.queues[call.queue]
        position = desk.waiting[queue.name].position(call_id)
        serving = sum(1 for a in desk.agents if a.logged_in and a.serves(queue.name))
        mean = desk.handling[queue.name].mean
        minutes = math.ceil(estimated_wait(position, mean, serving) / 60)
        if position <= 1:
            media: tuple[str, ...] = ("sound:queue-youarenext",)
        else:
            media = ("sound:queue-thereare", f"number:{position - 1}", "sound:queue-callswaiting")
        media += ("sound:queue-holdtime", f"number:{max(1, minutes)}", "sound:queue-minutes")
        if not call.playbacks:
            self.moh(call, queue, False)
            pid = call.play("announce")
            desk.add_playback(pid, call)
            desk.emit(Play(call.caller_channel, pid, media, call_id=call_id))
        desk.emit(StartTimer(("announce", call_id), queue.announce_every_seconds))
