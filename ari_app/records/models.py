"""The SQL schema (SQLAlchemy 2 declarative). docs/records.md documents every column.

No foreign keys between record tables: records arrive in any order (an offer before its
call's row, a replay after newer rows), and every table is keyed by the record's own
idempotency key so a replay is a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ari_app.records.types import (
    OFFER_RESULTS,
    OUTCOMES,
    SURVEY_OUTCOMES,
    TRANSFER_KINDS,
    TRANSFER_RESULTS,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(a) for a in allowed)})"


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Call(Base):
    __tablename__ = "calls"
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str] = mapped_column(String(80))
    caller_number_storage: Mapped[str] = mapped_column(String(8))
    arrival_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    wait_seconds: Mapped[float] = mapped_column(Float)
    talk_seconds: Mapped[float] = mapped_column(Float)
    hold_seconds: Mapped[float] = mapped_column(Float)
    wrapup_seconds: Mapped[float] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String(16))
    transferred: Mapped[bool] = mapped_column(Boolean)
    survey: Mapped[str] = mapped_column(String(16), server_default="not_offered")  # 0005
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("caller_number_storage", ("full", "masked", "hashed")),
                        name="caller_number_storage"),
        CheckConstraint(_in("survey", SURVEY_OUTCOMES), name="survey"),
        Index(None, "queue", "arrival_at"),
        Index(None, "agent_id"),
    )


class Offer(Base):
    __tablename__ = "offers"
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent_id: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ringing_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ring_seconds: Mapped[float] = mapped_column(Float)
    rings: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        CheckConstraint(_in("result", OFFER_RESULTS), name="result"),
        Index(None, "agent_id", "created_at"),
    )


class Agent(Base):
    """Each agent's latest known state; updated only by a newer state record."""

    __tablename__ = "agents"
    agent_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(128))
    state_since: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentState(Base):
    __tablename__ = "agent_states"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "agent_id", "at"),)


class Recording(Base):
    __tablename__ = "recordings"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retention_until: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "call_id"), Index(None, "retention_until"))


class Transfer(Base):
    __tablename__ = "transfers"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    from_agent: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    result: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        CheckConstraint(_in("kind", TRANSFER_KINDS), name="kind"),
        CheckConstraint(_in("result", TRANSFER_RESULTS), name="result"),
        Index(None, "call_id"),
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index(None, "object_type", "object_id"), Index(None, "actor", "at"))


class SurveyResult(Base):
    """A call's post-call survey (docs/survey.md). Migration 0005."""

    __tablename__ = "survey_results"
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    answers: Mapped[str] = mapped_column(Text)  # JSON list: per question, a key or null
    score: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        CheckConstraint(_in("outcome", SURVEY_OUTCOMES), name="outcome"),
        Index(None, "started_at"),
        Index(None, "queue", "started_at"),
        Index(None, "agent_id", "started_at"),
    )


# Work orders (ari_app.workorders; docs/workorders.md). Migration 0003.
WORK_ORDER_TYPES = ("enquiry", "help", "complaint", "report", "suggestion")
WORK_ORDER_URGENCIES = ("normal", "urgent")
WORK_ORDER_ORIGINS = ("call", "supervisor", "import")
WORK_ORDER_STATES = (
    "accepted", "assigned", "acknowledged", "in_progress", "returned", "closed", "follow_up",
    "reopened", "archived",
)


class WorkOrderRow(Base):
    """One work order's current state; its history is `work_order_events`."""

    __tablename__ = "work_orders"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(8))
    request: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(64))
    recording: Mapped[str] = mapped_column(String(255))
    caller: Mapped[str] = mapped_column(String(80))
    department: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    round_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    limit_days: Mapped[int] = mapped_column(Integer)
    extension_days: Mapped[int] = mapped_column(Integer)
    paused_days: Mapped[int] = mapped_column(Integer)
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    extension_requested: Mapped[int] = mapped_column(Integer)
    reminded: Mapped[bool] = mapped_column(Boolean)
    escalated: Mapped[bool] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(_in("type", WORK_ORDER_TYPES), name="type"),
        CheckConstraint(_in("urgency", WORK_ORDER_URGENCIES), name="urgency"),
        CheckConstraint(_in("origin", WORK_ORDER_ORIGINS), name="origin"),
        CheckConstraint(_in("state", WORK_ORDER_STATES), name="state"),
        Index(None, "state", "due_at"),
        Index(None, "opened_at"),
        Index(None, "closed_at"),
        Index(None, "agent_id"),
        Index(None, "team"),
    )


class WorkOrderEventRow(Base):
    """The append-only log: one row per change, numbered per order."""

    __tablename__ = "work_order_events"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)  # JSON object of strings
    __table_args__ = (Index(None, "action", "at"),)


class WorkOrderSetting(Base):
    """Admin-set work-order settings (`limits`: JSON), read on every change."""

    __tablename__ = "work_order_settings"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Quality assurance (ari_app.qa; docs/qa.md). Migration 0004.
QA_FORM_KINDS = ("evaluation", "knowledge")
QA_EVALUATION_STATES = ("draft", "submitted")


class QaForm(Base):
    """One version of an evaluation form or knowledge check (`definition`: JSON)."""

    __tablename__ = "qa_forms"
    form_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    definition: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (CheckConstraint(_in("kind", QA_FORM_KINDS), name="kind"),)


class QaEvaluation(Base):
    """One grader's evaluation of one call on one form version; final once submitted."""

    __tablename__ = "qa_evaluations"
    evaluation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(64))
    recording: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    grader: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    answers: Mapped[str] = mapped_column(Text)  # JSON: item id -> points or null (N/A)
    comments: Mapped[str] = mapped_column(Text)  # JSON: "overall" or item id -> text
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    auto_failed: Mapped[bool | None] = mapped_column(Boolean)
    accuracy_passed: Mapped[bool | None] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(_in("state", QA_EVALUATION_STATES), name="state"),
        Index(None, "form_id", "call_id", "grader", unique=True),
        Index(None, "form_id", "form_version"),
        Index(None, "call_id"),
        Index(None, "agent_id"),
        Index(None, "team"),
        Index(None, "submitted_at"),
    )


class QaKnowledgeResult(Base):
    """One agent's attempt at a knowledge check (业务知识)."""

    __tablename__ = "qa_knowledge_results"
    result_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    answers: Mapped[str] = mapped_column(Text)  # JSON: question id -> chosen option
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index(None, "form_id", "form_version"),
        Index(None, "agent_id"),
        Index(None, "team"),
    )


CALLBACK_KINDS = ("in_queue", "scheduled", "follow_up")
CALLBACK_STATES = (
    "requested", "waiting", "due", "dialling", "answered", "retry", "failed", "cancelled",
)
CALLBACK_RESULTS = ("answered", "no_answer", "busy", "failed")


class CallbackRow(Base):
    """One callback, its state after the latest change (docs/callbacks.md). The caller's
    number is kept in full while the callback is pending (it must be dialled) and masked
    once it is over."""

    __tablename__ = "callbacks"
    callback_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(80))
    call_id: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_arrival: Mapped[datetime] = mapped_column(UtcDateTime)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime)
    due_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    max_attempts: Mapped[int] = mapped_column(Integer)
    retry_seconds: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_result: Mapped[str] = mapped_column(String(80))
    answered_call_id: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    agent_id: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        CheckConstraint(_in("kind", CALLBACK_KINDS), name="kind"),
        CheckConstraint(_in("state", CALLBACK_STATES), name="state"),
        Index(None, "state"),
        Index(None, "queue", "requested_at"),
        Index(None, "agent_id"),
        Index(None, "order_id"),
    )


class CallbackAttemptRow(Base):
    """One dial of a callback's caller and how it ended."""

    __tablename__ = "callback_attempts"
    callback_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    queue: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    result: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        CheckConstraint(_in("result", CALLBACK_RESULTS), name="result"),
        Index(None, "queue", "started_at"),
    )
