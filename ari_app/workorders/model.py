"""The work order's vocabulary: types, urgencies, states, the order itself and its events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class OrderType(StrEnum):
    ENQUIRY = "enquiry"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议


TYPE_NAMES_ZH: Mapping[OrderType, str] = {
    OrderType.ENQUIRY: "咨询",
    OrderType.HELP: "求助",
    OrderType.COMPLAINT: "投诉",
    OrderType.REPORT: "举报",
    OrderType.SUGGESTION: "建议",
}


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Origin(StrEnum):
    CALL = "call"  # an agent, during or after a call
    SUPERVISOR = "supervisor"  # written by a team lead or supervisor
    IMPORT = "import"  # migrated from another system, `opened_at` given


class State(StrEnum):
    ACCEPTED = "accepted"  # 受理
    ASSIGNED = "assigned"  # 派单
    ACKNOWLEDGED = "acknowledged"  # 签收
    IN_PROGRESS = "in_progress"  # 办理中
    RETURNED = "returned"  # 退单: the department sent it back
    CLOSED = "closed"  # 办结
    FOLLOW_UP = "follow_up"  # 回访中
    REOPENED = "reopened"  # 重办: the caller was not satisfied
    ARCHIVED = "archived"  # 归档


# States whose clock runs: reminders, escalation and "overdue now" concern only these.
OPEN_STATES = frozenset(
    {
        State.ACCEPTED,
        State.ASSIGNED,
        State.ACKNOWLEDGED,
        State.IN_PROGRESS,
        State.RETURNED,
        State.REOPENED,
    }
)


class WorkOrderError(ValueError):
    """An order or an action that cannot be (bad field, illegal move); says why."""


@dataclass(frozen=True)
class Limits:
    """Time limits in working days per (type, urgency); 0 means the same working day.
    `reminder_share`: a reminder (催办) goes out once this share of the time is used."""

    days: Mapping[tuple[OrderType, Urgency], int]
    reminder_share: float = 0.8

    def __post_init__(self) -> None:
        missing = [
            f"{t}/{u}" for t in OrderType for u in Urgency if (t, u) not in self.days
        ]
        if missing:
            raise WorkOrderError(f"limits: no time limit for {', '.join(missing)}")
        bad = [f"{t}/{u}" for (t, u), n in self.days.items() if not 0 <= n <= 365]
        if bad:
            raise WorkOrderError(f"limits: {', '.join(bad)} must be 0-365 working days")
        if not 0 < self.reminder_share < 1:
            raise WorkOrderError("limits: reminder_share must be between 0 and 1")

    def of(self, kind: OrderType, urgency: Urgency) -> int:
        return self.days[(kind, urgency)]

    def as_json(self) -> dict[str, object]:
        return {
            "days": {t.value: {u.value: self.days[(t, u)] for u in Urgency} for t in OrderType},
            "reminder_share": self.reminder_share,
        }

    @staticmethod
    def from_json(data: Mapping[str, object]) -> Limits:
        days_in = data.get("days")
        if not isinstance(days_in, Mapping):
            raise WorkOrderError("limits: `days` must map type -> urgency -> working days")
        days: dict[tuple[OrderType, Urgency], int] = {}
        for t, per in days_in.items():
            if not isinstance(per, Mapping):
                raise WorkOrderError(f"limits: days.{t} must map urgency -> working days")
            for u, n in per.items():
                try:
                    key = (OrderType(t), Urgency(u))
                except ValueError as exc:
                    raise WorkOrderError(f"limits: unknown type or urgency {t}/{u}") from exc
                if not isinstance(n, int) or isinstance(n, bool):
                    raise WorkOrderError(f"limits: days.{t}.{u} must be a whole number")
                days[key] = n
        share = data.get("reminder_share", 0.8)
        if not isinstance(share, int | float) or isinstance(share, bool):
            raise WorkOrderError("limits: reminder_share must be a number")
        return Limits(days, float(share))


# Defaults: enquiry 3, help 5, complaint 13, report 13, suggestion 10 working days; urgent
# orders the same working day. Admins change them (PUT /admin/workorders/limits).
DEFAULT_LIMITS = Limits(
    {
        **{
            (t, Urgency.NORMAL): n
            for t, n in (
                (OrderType.ENQUIRY, 3),
                (OrderType.HELP, 5),
                (OrderType.COMPLAINT, 13),
                (OrderType.REPORT, 13),
                (OrderType.SUGGESTION, 10),
            )
        },
        **{(t, Urgency.URGENT): 0 for t in OrderType},
    }
)


@dataclass(frozen=True)
class WorkOrder:
    """One order as stored. `round_started_at` is `opened_at` until a reopening (重办)
    starts a new time limit; `due_at` is always derived from the round's start, the
    limit, granted extensions and pauses (`deadlines.due_at`)."""

    order_id: str
    type: OrderType
    category: str
    urgency: Urgency
    request: str  # the caller's request in their words
    origin: Origin
    created_by: str  # API user
    agent_id: str  # the agent who took the call / wrote it ("" for supervisors' orders)
    team: str  # the creator's team: team leads act on their team's orders
    call_id: str
    recording: str
    caller: str  # as the caller-number policy shows it (masked)
    department: str
    state: State
    opened_at: datetime
    round_started_at: datetime
    due_at: datetime
    limit_days: int
    extension_days: int = 0
    paused_days: int = 0
    paused_since: datetime | None = None
    extension_requested: int = 0  # working days asked for, waiting for a supervisor
    reminded: bool = False
    escalated: bool = False
    closed_at: datetime | None = None
    closed_on_time: bool | None = None
    satisfied: bool | None = None
    reopen_count: int = 0
    version: int = 1  # bumped by every change; the store refuses a stale write

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.paused_since is None and now > self.due_at


@dataclass(frozen=True)
class OrderEvent:
    """One line of an order's append-only log: who did what, when, and the state after."""

    order_id: str
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    state: State
    detail: Mapping[str, str] = field(default_factory=dict)
