"""Waiting callers of one queue, in the order they are served: VIPs first, then arrival.

A caller keeps their place while an agent's phone rings for them and after a RONA; they
leave the list only when answered, gone, or sent to overflow. The estimated wait is a
plain rule (position × mean handling time ÷ agents serving) so it can be explained to
callers and tested.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    priority: int
    seq: int
    call_id: str = field(compare=False)


class WaitingList:
    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._by_call: dict[str, Entry] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._by_call

    def add(self, call_id: str, *, vip: bool = False, seq: int | None = None) -> Entry:
        """Queue a caller; `seq` keeps an earlier place (a caller moved between queues)."""
        if call_id in self._by_call:
            return self._by_call[call_id]
        if seq is None:
            self._seq += 1
            seq = self._seq
        entry = Entry(0 if vip else 1, seq, call_id)
        bisect.insort(self._entries, entry)
        self._by_call[call_id] = entry
        return entry

    def remove(self, call_id: str) -> bool:
        entry = self._by_call.pop(call_id, None)
        if entry is None:
            return False
        i = bisect.bisect_left(self._entries, entry)
        while self._entries[i].call_id != call_id:
            i += 1
        del self._entries[i]
        return True

    def position(self, call_id: str) -> int:
        """1-based place in the line, 0 if not waiting."""
        entry = self._by_call.get(call_id)
        if entry is None:
            return 0
        return bisect.bisect_left(self._entries, entry) + 1

    def head(self) -> Entry | None:
        return self._entries[0] if self._entries else None


@dataclass(slots=True)
class HandlingTime:
    """Running mean of talk + wrap-up seconds, seeded so the first estimate is sane."""

    mean: float = 180.0
    weight: float = 0.1

    def add(self, seconds: float) -> None:
        self.mean += self.weight * (seconds - self.mean)


def estimated_wait(position: int, mean_handling: float, agents_serving: int) -> float:
    if position <= 0:
        return 0.0
    return position * mean_handling / max(1, agents_serving)
