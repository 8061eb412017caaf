"""`QueueRanking` (the kept-sorted index a pick walks) picks exactly what the old scan picked:
`choose` over the available, not cooling agents not yet tried (everyone tried: a new round)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from ari_app.callflow.strategy import QueueRanking, choose

STRATEGIES = ("longest-idle", "round-robin", "fewest-calls", "skills")


@dataclass
class FakeAgent:
    id: str
    idle_since: float = 0.0
    calls_taken: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    cool_until: float = 0.0


def scan_pick(
    strategy: str,
    available: Mapping[str, FakeAgent],
    tried: set[str],
    now: float,
    order: Mapping[str, int],
    skill: str,
    last: str,
) -> tuple[FakeAgent | None, bool]:
    """The engine's pick before the index (Offering._pick), verbatim in logic."""
    serving = [a for a in available.values() if a.cool_until <= now]
    fresh = [a for a in serving if a.id not in tried]
    new_round = False
    if not fresh and serving:
        new_round = True
        fresh = serving
    return choose(strategy, fresh, order, skill=skill, last_offered=last), new_round


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", range(12))
def test_indexed_pick_equals_scan_pick(strategy: str, seed: int) -> None:
    rnd = random.Random(seed * 7919 + len(strategy))
    n = rnd.choice([1, 3, 8, 40])
    agents = [FakeAgent(f"{1000 + i}") for i in range(n)]
    order = {a.id: i for i, a in enumerate(rnd.sample(agents, n))}  # config order != ids
    ranking: QueueRanking[FakeAgent] = QueueRanking(strategy, order, "zh")
    available: dict[str, FakeAgent] = {}
    now = 0.0
    last = ""
    tried: set[str] = set()
    picks = 0
    for _ in range(600):
        now += rnd.choice([0.0, 0.0, 0.5, 1.0, 3.0])  # equal times: ties on idle_since
        a = rnd.choice(agents)
        roll = rnd.random()
        if roll < 0.35:  # becomes available (login, unpause, wrap-up done, offer ended)
            a.idle_since = now
            if rnd.random() < 0.3:
                a.skills = {} if rnd.random() < 0.3 else {"zh": rnd.randint(0, 2)}
            available[a.id] = a
            ranking.add(a)
        elif roll < 0.55:  # ringing, talking, paused, logged out
            if a.id in available and rnd.random() < 0.5:
                a.calls_taken += 1
            available.pop(a.id, None)
            ranking.discard(a.id)
        elif roll < 0.65:  # busy phone / feature call: cooling, checked at pick time
            a.cool_until = now + rnd.choice([0.0, 2.0, 10.0])
        else:  # an offer
            if rnd.random() < 0.2:
                tried = set()
            if rnd.random() < 0.5:
                tried.add(rnd.choice(agents).id)
            if rnd.random() < 0.3:
                last = rnd.choice([*order, "", "nobody"])
            expected, expected_round = scan_pick(
                strategy, available, set(tried), now, order, "zh", last
            )
            got, new_round = ranking.pick(tried, lambda x, t=now: x.cool_until <= t, last)
            assert (got, new_round) == (expected, expected_round)
            picks += 1
            if got is not None and rnd.random() < 0.5:
                last = got.id
                tried.add(got.id)
    assert picks > 100
    assert ranking.rebuilds == 0
    assert set(ranking.members) == set(available)


def test_skills_fresh_unskilled_agent_means_no_pick_and_no_new_round() -> None:
    order = {"a": 0, "b": 1}
    ranking: QueueRanking[FakeAgent] = QueueRanking("skills", order, "zh")
    ranking.add(FakeAgent("a", skills={"zh": 0}))
    ranking.add(FakeAgent("b"))
    assert ranking.pick({"a"}, lambda x: True) == (None, False)
    got, new_round = ranking.pick({"a", "b"}, lambda x: True)
    assert got is not None
    assert got.id == "a"
    assert new_round


def test_ranking_resorts_when_a_key_changed_behind_its_back() -> None:
    order = {"a": 0, "b": 1}
    a, b = FakeAgent("a", idle_since=1.0), FakeAgent("b", idle_since=2.0)
    ranking: QueueRanking[FakeAgent] = QueueRanking("longest-idle", order)
    ranking.add(a)
    ranking.add(b)
    a.idle_since = 5.0  # not through add(): the pick must still follow `choose`
    got, _ = ranking.pick(set(), lambda x: True)
    assert got is b
    assert ranking.rebuilds == 1
    ranking.discard("a")
    ranking.discard("b")
    assert ranking.pick(set(), lambda x: True) == (None, False)
