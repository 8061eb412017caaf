"""Calls are written when they start: outcomes `in_progress` and `interrupted`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = (
    "answered", "abandoned", "overflow", "voicemail", "callback", "closed", "blocked",
    "transferred", "failed",
)
_NEW = (*_OLD, "in_progress", "interrupted")


def _check(values: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _replace(values: tuple[str, ...]) -> None:
    # batch mode: SQLite cannot alter a CHECK constraint in place (the table is copied)
    with op.batch_alter_table("calls", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_calls_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_outcome"), _check(values))


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    op.execute(
        "UPDATE calls SET outcome = 'failed' WHERE outcome IN ('in_progress', 'interrupted')"
    )
    _replace(_OLD)
