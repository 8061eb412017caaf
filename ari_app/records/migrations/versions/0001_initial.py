"""Initial schema: calls, offers, agents, agent states, recordings, transfers, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_states",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_agent_states")),
    )
    op.create_index(
        op.f("ix_agent_states_agent_id_at"), "agent_states", ["agent_id", "at"], unique=False
    )

    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
    )
    op.create_table(
        "audit_log",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_actor_at"), "audit_log", ["actor", "at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_object_type_object_id"),
        "audit_log",
        ["object_type", "object_id"],
        unique=False,
    )

    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("caller_number_storage", sa.String(length=8), nullable=False),
        sa.Column("arrival_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("talk_seconds", sa.Float(), nullable=False),
        sa.Column("hold_seconds", sa.Float(), nullable=False),
        sa.Column("wrapup_seconds", sa.Float(), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=True),
        sa.Column("transferred", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "caller_number_storage IN ('full', 'masked', 'hashed')",
            name=op.f("ck_calls_caller_number_storage"),
        ),
        sa.CheckConstraint(
            "outcome IN ('answered', 'abandoned', 'overflow', 'voicemail', 'callback', 'closed',"
            " 'blocked', 'transferred', 'failed')",
            name=op.f("ck_calls_outcome"),
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    op.create_index(op.f("ix_calls_agent_id"), "calls", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_calls_queue_arrival_at"), "calls", ["queue", "arrival_at"], unique=False
    )

    op.create_table(
        "offers",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ringing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_seconds", sa.Float(), nullable=False),
        sa.Column("rings", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "result IN ('answered', 'rona', 'busy', 'unavailable', 'cancelled', 'failed')",
            name=op.f("ck_offers_result"),
        ),
        sa.PrimaryKeyConstraint("call_id", "seq", name=op.f("pk_offers")),
    )
    op.create_index(
        op.f("ix_offers_agent_id_created_at"), "offers", ["agent_id", "created_at"], unique=False
    )

    op.create_table(
        "recordings",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_call_id"), "recordings", ["call_id"], unique=False)
    op.create_index(
        op.f("ix_recordings_retention_until"), "recordings", ["retention_until"], unique=False
    )

    op.create_table(
        "transfers",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_agent", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('blind', 'attended', 'phone')", name=op.f("ck_transfers_kind")
        ),
        sa.CheckConstraint(
            "result IN ('completed', 'failed', 'cancelled')", name=op.f("ck_transfers_result")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_call_id"), "transfers", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transfers_call_id"), table_name="transfers")

    op.drop_table("transfers")
    op.drop_index(op.f("ix_recordings_retention_until"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_call_id"), table_name="recordings")

    op.drop_table("recordings")
    op.drop_index(op.f("ix_offers_agent_id_created_at"), table_name="offers")

    op.drop_table("offers")
    op.drop_index(op.f("ix_calls_queue_arrival_at"), table_name="calls")
    op.drop_index(op.f("ix_calls_agent_id"), table_name="calls")

    op.drop_table("calls")
    op.drop_index(op.f("ix_audit_log_object_type_object_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_at"), table_name="audit_log")

    op.drop_table("audit_log")
    op.drop_table("agents")
    op.drop_index(op.f("ix_agent_states_agent_id_at"), table_name="agent_states")

    op.drop_table("agent_states")
