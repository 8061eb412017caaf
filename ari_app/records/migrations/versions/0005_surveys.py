"""Post-call surveys: one row per surveyed call, and the call's survey outcome.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SurveyOutcome's spellings as of this revision (a later one that adds one alters the CHECKs)
_OUTCOMES = ("completed", "partial", "no_input", "invalid", "declined", "not_offered")
_INDEXES = (["started_at"], ["queue", "started_at"], ["agent_id", "started_at"])


def _in(column: str) -> str:
    return f"{column} IN ({', '.join(repr(o) for o in _OUTCOMES)})"


def _index(cols: list[str]) -> str:
    return f"ix_survey_results_{'_'.join(cols)}"


def upgrade() -> None:
    op.create_table(
        "survey_results",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("outcome"), name=op.f("ck_survey_results_outcome")),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_survey_results")),
    )
    for cols in _INDEXES:
        op.create_index(op.f(_index(cols)), "survey_results", cols)
    # batch mode: SQLite adds a CHECK constraint only by copying the table
    with op.batch_alter_table("calls", recreate="auto") as batch:
        batch.add_column(sa.Column("survey", sa.String(length=16), nullable=False,
                                   server_default="not_offered"))
        batch.create_check_constraint(op.f("ck_calls_survey"), _in("survey"))


def downgrade() -> None:
    with op.batch_alter_table("calls", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_calls_survey"), type_="check")
        batch.drop_column("survey")
    for cols in _INDEXES:
        op.drop_index(op.f(_index(cols)), table_name="survey_results")
    op.drop_table("survey_results")
