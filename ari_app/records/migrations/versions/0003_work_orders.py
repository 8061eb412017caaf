"""Work orders: the orders, their append-only event log, admin settings.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = ("enquiry", "help", "complaint", "report", "suggestion")
_URGENCIES = ("normal", "urgent")
_ORIGINS = ("call", "supervisor", "import")
_STATES = (
    "accepted", "assigned", "acknowledged", "in_progress", "returned", "closed", "follow_up",
    "reopened", "archived",
)


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(a) for a in allowed)})"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("recording", sa.String(length=255), nullable=False),
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _ts("opened_at"),
        _ts("round_started_at"),
        _ts("due_at"),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        _ts("paused_since", nullable=True),
        sa.Column("extension_requested", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        _ts("closed_at", nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(_in("type", _TYPES), name=op.f("ck_work_orders_type")),
        sa.CheckConstraint(_in("urgency", _URGENCIES), name=op.f("ck_work_orders_urgency")),
        sa.CheckConstraint(_in("origin", _ORIGINS), name=op.f("ck_work_orders_origin")),
        sa.CheckConstraint(_in("state", _STATES), name=op.f("ck_work_orders_state")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_work_orders")),
    )
    for cols in (["state", "due_at"], ["opened_at"], ["closed_at"], ["agent_id"], ["team"]):
        op.create_index(op.f(f"ix_work_orders_{'_'.join(cols)}"), "work_orders", cols)
    op.create_table(
        "work_order_events",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "seq", name=op.f("pk_work_order_events")),
    )
    op.create_index(
        op.f("ix_work_order_events_action_at"), "work_order_events", ["action", "at"]
    )
    op.create_table(
        "work_order_settings",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_work_order_settings")),
    )


def downgrade() -> None:
    op.drop_table("work_order_settings")
    op.drop_index(op.f("ix_work_order_events_action_at"), table_name="work_order_events")
    op.drop_table("work_order_events")
    for cols in (["state", "due_at"], ["opened_at"], ["closed_at"], ["agent_id"], ["team"]):
        op.drop_index(op.f(f"ix_work_orders_{'_'.join(cols)}"), table_name="work_orders")
    op.drop_table("work_orders")
