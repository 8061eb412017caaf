"""Quality assurance: evaluation forms, evaluations, knowledge checks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in with the feature's tables (this file fixes the revision chain)."""


def downgrade() -> None:
    """Filled in with the feature's tables."""
