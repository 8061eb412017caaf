"""Offering waiting callers to agents: who is available, which agent gets which caller,
the agent leg (create, dial, ring timer) and how an offer ends (answered, RONA, busy,
unavailable, cancelled).

The decisions themselves are elsewhere (ari_app.callflow.strategy picks the agent,
ari_app.callflow.agents moves its state); this module applies them to the switchboard's
calls through the desk."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from ari_app.callflow.agents import Agent
from ari_app.callflow.call import Call, CallState, Offer
from ari_app.callflow.desk import Desk
from ari_app.callflow.queueing import Entry
from ari_app.callflow.strategy import QueueRanking
from ari_app.domain.commands import (
    AGENT_ID,
    CALL_ID,
    QUEUE,
    ROLE,
    TRANSFER_HANDLING,
    CancelTimer,
    CreateChannel,
    Dial,
    Hangup,
    SetVar,
    StartTimer,
)
from ari_app.domain.events import AgentState, AgentStateChanged, OfferResult


class Offering:
    """Available agents and the offers of waiting calls to them."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        agents = desk.agents
        queues = desk.queues
        self.available: set[str] = set()
        self._order = {aid: i for i, aid in enumerate(agents.order)}
        self._rr_last: dict[str, str] = {q: "" for q in queues}
        # each queue's available agents in its strategy's order: a pick walks from the front
        self._rankings: dict[str, QueueRanking[Agent]] = {
            name: QueueRanking(q.strategy, self._order, q.skill) for name, q in queues.items()
        }
        self._serves: dict[str, list[QueueRanking[Agent]]] = {
            a.id: [r for name, r in self._rankings.items() if a.serves(name)] for a in agents
        }
        # the callbacks room: due callbacks the fairness rules let go take agents first
        self.before_dispatch: Callable[[float], None] | None = None

    def agent_changed(self, event: AgentStateChanged) -> None:
        """Every agent state change goes through here: it keeps `available` and the queues'
        rankings right."""
        self._track(event.agent_id, event.state)
        self.desk.publish(event)

    def agent_restored(self, agent: Agent) -> None:
        """An agent put back by a restart (no transition, nothing to publish)."""
        self._track(agent.id, agent.state)

    def _track(self, aid: str, state: AgentState) -> None:
        if state is AgentState.AVAILABLE:
            self.available.add(aid)
            agent = self.desk.agents.get(aid)
            if agent is not None:
                for ranking in self._serves[aid]:
                    ranking.add(agent)
        else:
            self.available.discard(aid)
            for ranking in self._serves.get(aid, ()):
                ranking.discard(aid)

    def dispatch(self, now: float) -> None:
        """Offer waiting callers (VIPs first, then arrival order) to available agents."""
        if not self.available:
            return
        if self.before_dispatch is not None:
            self.before_dispatch(now)
            if not self.available:
                return
        lines = [iter(w) for w in self.desk.waiting.values() if len(w)]
        if not lines:
            return
        stuck: set[str] = set()
        entry: Entry
        for entry in heapq.merge(*lines):
            call = self.desk.calls.get(entry.call_id)
            if call is None or call.offer is not None or call.state is not CallState.QUEUED:
                continue
            if call.queue in stuck:
                continue
            agent = self._pick(call, now)
            if agent is None:
                stuck.add(call.queue)
                if len(stuck) == len(self.desk.queues):
                    return
                continue
            self._offer(call, agent, now)
            if not self.available:
                return

    def pick(self, call: Call, now: float) -> Agent | None:
        """The agent `call` would be offered to now (a callback reserves it)."""
        return self._pick(call, now)

    def offer(self, call: Call, agent: Agent, now: float) -> None:
        """Offer `call` to this available agent (a callback's caller, to its agent)."""
        self._offer(call, agent, now)

    def _pick(self, call: Call, now: float) -> Agent | None:
        """`strategy.choose` over the queue's available, not cooling agents not yet tried
        for this call (after everybody had a go, another round)."""
        agent, new_round = self._rankings[call.queue].pick(
            call.tried,
            lambda a: a.cool_until <= now,
            last_offered=self._rr_last[call.queue],
        )
        if new_round:
            call.tried.clear()
        return agent

    def _offer(self, call: Call, agent: Agent, now: float) -> None:
        queue = self.desk.queues[call.queue]
        cid = call.call_id
        channel_id = call.agent_channel_id(agent.id)
        call.offer = Offer(agent.id, channel_id, now)
        call.tried.add(agent.id)
        self.desk.attach(channel_id, call)
        self._rr_last[queue.name] = agent.id
        self.agent_changed(agent.offer(cid, now))
        ring_seconds = self.desk.ring_seconds(queue)
        self.desk.emit(
            CreateChannel(
                channel_id=channel_id,
                endpoint=agent.device,
                app=self.desk.app,
                app_args="agent",
                originator=call.caller_channel,
                variables={
                    AGENT_ID: agent.id,
                    CALL_ID: cid,
                    QUEUE: queue.name,
                    ROLE: "agent",
                },
                call_id=cid,
            ),
        )
        if self.desk.phone_transfers == "ari-only":
            self.desk.emit(SetVar(channel_id, TRANSFER_HANDLING, "ari-only", call_id=cid))
        setup = self.desk.limits.setup_seconds
        self.desk.emit(
            Dial(
                channel_id,
                caller=call.caller_channel,
                timeout=math.ceil(ring_seconds + setup),
                call_id=cid,
            ),
            StartTimer(("offer", channel_id), ring_seconds + setup),
        )
        self.desk.call_state(call, "offered", now, agent_id=agent.id)

    def ringing(self, call: Call, channel_id: str, now: float) -> None:
        offer = call.offer
        if offer is None or offer.channel_id != channel_id or offer.ringing_at is not None:
            return
        offer.ringing_at = now
        ring_seconds = self.desk.ring_seconds(self.desk.queues[call.queue])
        self.desk.emit(StartTimer(("offer", channel_id), ring_seconds))

    def end(self, call: Call, result: OfferResult, now: float, *, hangup: bool) -> None:
        """The call's offer is over (`hangup`: the agent leg is hung up too)."""
        offer = call.offer
        if offer is None:
            return
        call.offer = None
        call.offers.append(offer.close(result, now, self.desk.periods[call.queue]))
        self.desk.emit(CancelTimer(("offer", offer.channel_id)))
        if hangup:
            self.desk.emit(Hangup(offer.channel_id, call_id=call.call_id))
        agent = self.desk.agents.get(offer.agent_id)
        if (
            agent is not None
            and agent.state is AgentState.RINGING
            and agent.call_id == call.call_id
        ):
            self.agent_changed(
                agent.offer_ended(
                    now,
                    rona=result is OfferResult.RONA,
                    pause_after=self.desk.config.ringing.rona_pause_after,
                )
            )
        if result is OfferResult.RONA:
            self.desk.count("rona")
        elif result in (OfferResult.BUSY, OfferResult.UNAVAILABLE) and agent is not None:
            # a busy or unreachable phone is not retried at once (it would spin)
            agent.cool_until = now + self.desk.limits.busy_retry_seconds
            self.desk.emit(StartTimer(("cool", agent.id), self.desk.limits.busy_retry_seconds))

    def timer(self, channel_id: str, now: float) -> None:
        """The agent leg's setup or RONA timer fired."""
        call = self.desk.call_of(channel_id)
        if call is None or call.offer is None or call.offer.channel_id != channel_id:
            return
        rang = call.offer.ringing_at is not None
        self.end(call, OfferResult.RONA if rang else OfferResult.UNAVAILABLE, now, hangup=True)
        self.dispatch(now)
