"""Callbacks: in-queue and scheduled, their attempts.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the spellings as of this revision (ari_app.callbacks.model)
_KINDS = ("in_queue", "scheduled", "follow_up")
_STATES = ("requested", "waiting", "due", "dialling", "answered", "retry", "failed", "cancelled")
_RESULTS = ("answered", "no_answer", "busy", "failed")
_CB_INDEXES = (["state"], ["queue", "requested_at"], ["agent_id"], ["order_id"])


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(a) for a in allowed)})"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("callback_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        _ts("requested_at"),
        _ts("first_arrival"),
        _ts("not_before"),
        _ts("due_by", nullable=True),
        _ts("due_at", nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_seconds", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_result", sa.String(length=80), nullable=False),
        sa.Column("answered_call_id", sa.String(length=64), nullable=False),
        _ts("answered_at", nullable=True),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint(_in("kind", _KINDS), name=op.f("ck_callbacks_kind")),
        sa.CheckConstraint(_in("state", _STATES), name=op.f("ck_callbacks_state")),
        sa.PrimaryKeyConstraint("callback_id", name=op.f("pk_callbacks")),
    )
    for cols in _CB_INDEXES:
        op.create_index(op.f(f"ix_callbacks_{'_'.join(cols)}"), "callbacks", cols)
    op.create_table(
        "callback_attempts",
        sa.Column("callback_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.CheckConstraint(_in("result", _RESULTS), name=op.f("ck_callback_attempts_result")),
        sa.PrimaryKeyConstraint("callback_id", "attempt", name=op.f("pk_callback_attempts")),
    )
    op.create_index(
        op.f("ix_callback_attempts_queue_started_at"), "callback_attempts",
        ["queue", "started_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_attempts_queue_started_at"), table_name="callback_attempts")
    op.drop_table("callback_attempts")
    for cols in _CB_INDEXES:
        op.drop_index(op.f(f"ix_callbacks_{'_'.join(cols)}"), table_name="callbacks")
    op.drop_table("callbacks")
