"""The monthly sampling plan: k recorded calls per agent, spread over the queues the agent
answered in proportion to their calls there (largest remainder), drawn with a seed made
from the month and the site's seed, so the same month's calls give the same sample.

Each agent's draw has its own generator (seed, month, agent): an agent added or removed
does not change anybody else's sample. Input order does not matter (calls are sorted).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class SamplingError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class CallRef:
    """One call of the month as the sampler sees it."""

    agent_id: str
    queue: str
    call_id: str
    recorded: bool = True


def month_seed(month: str, site_seed: str) -> str:
    """f(month, site seed): a stable hex string (not Python's salted `hash`)."""
    if not MONTH.fullmatch(month):
        raise SamplingError(f"month {month!r}: YYYY-MM")
    return hashlib.sha256(f"{site_seed}\x00{month}".encode()).hexdigest()


def allocate(k: int, per_queue: dict[str, int]) -> dict[str, int]:
    """k draws shared among queues in proportion to their calls (largest remainder; ties
    to the queue with more calls, then by name); never more than a queue has."""
    total = sum(per_queue.values())
    if k >= total:
        return dict(per_queue)
    quotas = {q: k * n / total for q, n in per_queue.items()}
    out = {q: int(quota) for q, quota in quotas.items()}
    left = k - sum(out.values())
    order = sorted(per_queue, key=lambda q: (-(quotas[q] - out[q]), -per_queue[q], q))
    for q in order[:left]:
        out[q] += 1
    return out


def sample(
    calls: Iterable[CallRef], month: str, per_agent: int, site_seed: str
) -> list[CallRef]:
    """The month's sample: per agent, per queue, `allocate`d recorded calls drawn at
    random (seeded); sorted by agent, queue, call."""
    if per_agent < 1:
        raise SamplingError("per_agent: at least 1")
    seed = month_seed(month, site_seed)
    pool: dict[str, dict[str, list[CallRef]]] = defaultdict(lambda: defaultdict(list))
    for call in sorted(set(calls)):
        if call.recorded and call.agent_id:
            pool[call.agent_id][call.queue].append(call)
    chosen: list[CallRef] = []
    for agent in sorted(pool):
        queues = pool[agent]
        shares = allocate(per_agent, {q: len(c) for q, c in queues.items()})
        rng = random.Random(f"{seed}:{agent}")  # noqa: S311 (reproducible on purpose)
        for queue in sorted(queues):
            chosen.extend(rng.sample(queues[queue], shares[queue]))
    return sorted(chosen)
