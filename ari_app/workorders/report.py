"""The work-order report: per type and department over a period, as a pure fold.

- opened: orders opened in [start, end);
- closed / closed on time: orders whose (latest) closure is in [start, end), and of those
  the ones closed at or before their deadline; on-time rate = on time / closed (for
  complaints this is the rules' 投诉处理及时率);
- overdue now: open orders past their deadline at `now` (whatever the period);
- average working days to close: working days from the opening day to the closing day;
- follow-up satisfaction (回访满意率): satisfied / follow-up results in [start, end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ari_app.workorders.deadlines import Rules, working_days_in
from ari_app.workorders.model import OrderEvent, WorkOrder

ALL = "*"


@dataclass
class Line:
    type: str
    department: str
    opened: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue_now: int = 0
    working_days_to_close: int = 0  # summed; the average is a property
    follow_ups: int = 0
    satisfied: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    @property
    def average_working_days_to_close(self) -> float | None:
        return self.working_days_to_close / self.closed if self.closed else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.follow_ups if self.follow_ups else None

    def as_dict(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "type": self.type, "department": self.department, "opened": self.opened,
            "closed": self.closed, "closed_on_time": self.closed_on_time,
            "on_time_rate": r(self.on_time_rate), "overdue_now": self.overdue_now,
            "average_working_days_to_close": r(self.average_working_days_to_close),
            "follow_ups": self.follow_ups, "satisfied": self.satisfied,
            "satisfaction_rate": r(self.satisfaction_rate),
        }


COLUMNS = tuple(Line("", "").as_dict())


def report(
    rules: Rules,
    orders: Iterable[WorkOrder],
    follow_ups: Iterable[OrderEvent],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Line]:
    """One line per (type, department) seen, sorted, then the total line (`*`, `*`)."""
    lines: dict[tuple[str, str], Line] = {}
    total = Line(ALL, ALL)
    by_id: Mapping[str, WorkOrder] = {o.order_id: o for o in orders}

    def touch(order: WorkOrder) -> tuple[Line, Line]:
        key = (order.type.value, order.department or "-")
        return lines.setdefault(key, Line(*key)), total

    for order in by_id.values():
        if start <= order.opened_at < end:
            for line in touch(order):
                line.opened += 1
        if order.closed_at is not None and start <= order.closed_at < end:
            took = working_days_in(rules, order.opened_at, order.closed_at)
            for line in touch(order):
                line.closed += 1
                line.closed_on_time += bool(order.closed_on_time)
                line.working_days_to_close += took
        if order.overdue(now):
            for line in touch(order):
                line.overdue_now += 1
    for event in follow_ups:
        followed = by_id.get(event.order_id)
        if followed is None or event.action != "follow_up" or not start <= event.at < end:
            continue
        for line in touch(followed):
            line.follow_ups += 1
            line.satisfied += event.detail.get("satisfied") == "true"
    return [lines[k] for k in sorted(lines)] + [total]
