"""Post-call surveys: one row per surveyed call, and the call's survey outcome.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Filled in with the feature's tables (this file fixes the revision chain)."""


def downgrade() -> None:
    """Filled in with the feature's tables."""
