"""Quality assurance: evaluation forms, evaluations, knowledge checks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("evaluation", "knowledge")
_STATES = ("draft", "submitted")
_EVALUATION_INDEXES: tuple[tuple[list[str], bool], ...] = (
    (["form_id", "call_id", "grader"], True),  # one per grader per form per call
    (["form_id", "form_version"], False),
    (["call_id"], False),
    (["agent_id"], False),
    (["team"], False),
    (["submitted_at"], False),
)
_RESULT_INDEXES = (["form_id", "form_version"], ["agent_id"], ["team"])


def _in(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(a) for a in allowed)})"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _name(table: str, cols: list[str]) -> str:
    return f"ix_{table}_{'_'.join(cols)}"


def upgrade() -> None:
    op.create_table(
        "qa_forms",
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(_in("kind", _KINDS), name=op.f("ck_qa_forms_kind")),
        sa.PrimaryKeyConstraint("form_id", "version", name=op.f("pk_qa_forms")),
    )
    op.create_table(
        "qa_evaluations",
        sa.Column("evaluation_id", sa.String(length=64), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("recording", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("grader", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("submitted_at", nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("auto_failed", sa.Boolean(), nullable=True),
        sa.Column("accuracy_passed", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(_in("state", _STATES), name=op.f("ck_qa_evaluations_state")),
        sa.PrimaryKeyConstraint("evaluation_id", name=op.f("pk_qa_evaluations")),
    )
    for cols, unique in _EVALUATION_INDEXES:
        op.create_index(op.f(_name("qa_evaluations", cols)), "qa_evaluations", cols,
                        unique=unique)
    op.create_table(
        "qa_knowledge_results",
        sa.Column("result_id", sa.String(length=64), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        _ts("taken_at"),
        sa.PrimaryKeyConstraint("result_id", name=op.f("pk_qa_knowledge_results")),
    )
    for cols in _RESULT_INDEXES:
        op.create_index(op.f(_name("qa_knowledge_results", list(cols))),
                        "qa_knowledge_results", list(cols))


def downgrade() -> None:
    for cols in _RESULT_INDEXES:
        op.drop_index(op.f(_name("qa_knowledge_results", list(cols))),
                      table_name="qa_knowledge_results")
    op.drop_table("qa_knowledge_results")
    for cols, _unique in _EVALUATION_INDEXES:
        op.drop_index(op.f(_name("qa_evaluations", cols)), table_name="qa_evaluations")
    op.drop_table("qa_evaluations")
    op.drop_table("qa_forms")
