"""Which due callbacks may be dialled now: the two rules other systems break.

1. Never more callback dials at once than free agents: each dial needs an agent of its own
   (the one reserved for it), so `free_agents - in_flight` is the ceiling, where `in_flight`
   counts callback dials going on without an agent of their own.
2. A callback never goes ahead of callers who were waiting before it was due: the queue's
   waiting callers and its due callbacks are served in one order — a caller's arrival, a
   callback's `order_key` (an in-queue callback keeps its caller's arrival; a scheduled one
   takes the time it became due). On a tie the caller goes first. A caller who waited
   since before the callback's key takes a free agent before it.

Pure: the applier passes what it sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ari_app.callbacks.model import Callback, State


def by_order(callbacks: Iterable[Callback]) -> list[Callback]:
    """Due callbacks in the order they are served: key, then request time, then id."""
    return sorted(callbacks, key=lambda cb: (cb.order_key, cb.requested_at, cb.id))


def dialable(
    due: Iterable[Callback],
    waiting_since: Sequence[float],
    *,
    free_agents: int,
    in_flight: int = 0,
) -> list[Callback]:
    """The due callbacks of one queue that may be dialled now, in order.

    `waiting_since`: the arrival times of the queue's callers waiting for an agent (not
    those an agent's phone already rings for; a VIP counts as `-inf`); `free_agents`: the
    available agents serving the queue.
    """
    slots = free_agents - in_flight
    callers = sorted(waiting_since)
    i = 0
    chosen: list[Callback] = []
    for cb in by_order(c for c in due if c.state is State.DUE):
        while slots > 0 and i < len(callers) and callers[i] <= cb.order_key:
            slots -= 1  # an earlier caller takes this agent
            i += 1
        if slots <= 0:
            break
        chosen.append(cb)
        slots -= 1
    return chosen
