"""Which available agent gets the next call of a queue: pure functions over agent facts.

- longest-idle (default): the agent available for the longest time;
- round-robin: the next agent after the last one offered, in config order;
- fewest-calls: the agent who answered fewest calls, then longest idle;
- skills: only agents with the queue's skill; the skill's value is a penalty tier
  (0 first, like Asterisk's queue penalties), longest idle within the tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar


class Candidate(Protocol):
    """What a strategy may look at (an `ari_app.agents.Agent` fits)."""

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
