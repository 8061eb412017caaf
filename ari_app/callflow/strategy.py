"""Which available agent gets the next call of a queue: pure functions over agent facts.

- longest-idle (default): the agent available for the longest time;
- round-robin: the next agent after the last one offered, in config order;
- fewest-calls: the agent who answered fewest calls, then longest idle;
- skills: only agents with the queue's skill; the skill's value is a penalty tier
  (0 first, like Asterisk's queue penalties), longest idle within the tier.

`choose` is the definition (a scan over the candidates); `QueueRanking` keeps one queue's
available agents sorted by the same key, so a pick walks from the front instead of scanning
everyone. Both pick the same agent.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Generic, Protocol, TypeVar


class Candidate(Protocol):
    """What a strategy may look at (an `ari_app.callflow.agents.Agent` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def idle_since(self) -> float: ...
    @property
    def calls_taken(self) -> int: ...
    @property
    def skills(self) -> Mapping[str, int]: ...


C = TypeVar("C", bound=Candidate)


def choose(
    strategy: str,
    candidates: Sequence[C],
    order: Mapping[str, int],
    *,
    skill: str = "",
    last_offered: str = "",
) -> C | None:
    """The agent to offer to, or None if nobody fits. Ties break by config order."""
    if not candidates:
        return None
    if strategy == "round-robin":
        last = order.get(last_offered, -1)
        after = [c for c in candidates if order[c.id] > last]
        return min(after or candidates, key=lambda c: order[c.id])
    if strategy == "fewest-calls":
        return min(candidates, key=lambda c: (c.calls_taken, c.idle_since, order[c.id]))
    if strategy == "skills":
        skilled = [c for c in candidates if skill in c.skills]
        if not skilled:
            return None
        return min(skilled, key=lambda c: (c.skills[skill], c.idle_since, order[c.id]))
    return min(candidates, key=lambda c: (c.idle_since, order[c.id]))


Rank = tuple[float | str, ...]


def rank(strategy: str, c: Candidate, order: Mapping[str, int], skill: str = "") -> Rank | None:
    """`choose`'s key for `c` (smallest first; the id last), or None if `strategy` never picks
    `c`. Round-robin ranks by config order alone; where the last offer sits is the walk's."""
    if strategy == "round-robin":
        return (order[c.id], c.id)
    if strategy == "fewest-calls":
        return (c.calls_taken, c.idle_since, order[c.id], c.id)
    if strategy == "skills":
        tier = c.skills.get(skill)
        return None if tier is None else (tier, c.idle_since, order[c.id], c.id)
    return (c.idle_since, order[c.id], c.id)


class QueueRanking(Generic[C]):
    """One queue's available agents in `choose` order, kept on state changes.

    An agent's key (idle since, calls taken, skill tier) does not move while it is available,
    so it is computed on `add`; a pick still checks the keys it walks past and re-sorts if
    one went stale (a fact changed behind the ranking's back)."""

    def __init__(
        self, strategy: str, order: Mapping[str, int], skill: str = ""
    ) -> None:
        self.strategy = strategy
        self.order = order
        self.skill = skill
        self.members: dict[str, C] = {}
        self._keys: dict[str, Rank] = {}
        self._ranked: list[Rank] = []
        self.rebuilds = 0

    def __len__(self) -> int:
        return len(self.members)

    def add(self, agent: C) -> None:
        self.discard(agent.id)
        self.members[agent.id] = agent
        key = rank(self.strategy, agent, self.order, self.skill)
        if key is not None:
            self._keys[agent.id] = key
            insort(self._ranked, key)

    def discard(self, agent_id: str) -> None:
        if self.members.pop(agent_id, None) is None:
            return
        key = self._keys.pop(agent_id, None)
        if key is None:
            return
        i = bisect_left(self._ranked, key)
        if i < len(self._ranked) and self._ranked[i] == key:
            del self._ranked[i]
        else:  # pragma: no cover - only if the list was rebuilt with another key
            self._ranked = [k for k in self._ranked if k[-1] != agent_id]

    def _rebuild(self) -> None:
        self.rebuilds += 1
        self._keys = {}
        for aid, agent in self.members.items():
            key = rank(self.strategy, agent, self.order, self.skill)
            if key is not None:
                self._keys[aid] = key
        self._ranked = sorted(self._keys.values())

    def pick(
        self,
        tried: Collection[str],
        ready: Callable[[C], bool],
        last_offered: str = "",
    ) -> tuple[C | None, bool]:
        """What `choose` picks among the `ready` members not in `tried` — or, when every
        ready member was tried, among all ready members. The flag says it was the latter
        (the caller starts a new round)."""
        for _ in range(2):
            try:
                return self._walk(tried, ready, last_offered)
            except _Stale:
                self._rebuild()
        raise AssertionError("ranking still stale after a rebuild")  # pragma: no cover

    def _walk(
        self, tried: Collection[str], ready: Callable[[C], bool], last_offered: str
    ) -> tuple[C | None, bool]:
        ranked = self._ranked
        n = len(ranked)
        start = 0
        if self.strategy == "round-robin":
            start = bisect_left(ranked, (self.order.get(last_offered, -1) + 1,))
        first_ready: C | None = None
        for j in range(n):
            key = ranked[(start + j) % n]
            agent = self.members[str(key[-1])]
            if not ready(agent):
                continue
            if rank(self.strategy, agent, self.order, self.skill) != key:
                raise _Stale
            if agent.id not in tried:
                return agent, False
            if first_ready is None:
                first_ready = agent
        if self.strategy == "skills":
            # the old scan looked for fresh agents among all who serve, skilled or not:
            # a fresh unskilled one means no pick and no new round
            unskilled = [a for aid, a in self.members.items() if aid not in self._keys]
            ready_unskilled = [a for a in unskilled if ready(a)]
            if any(a.id not in tried for a in ready_unskilled):
                return None, False
            if first_ready is None and not ready_unskilled:
                return None, False
            return first_ready, True
        return first_ready, first_ready is not None


class _Stale(Exception):
    """A ranked agent's key changed while it was in the ranking."""
