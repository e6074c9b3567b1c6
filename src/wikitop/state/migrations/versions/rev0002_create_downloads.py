"""Create the downloads table: one row per upstream download started, for the deployment's budget.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `downloads` and its started_at index."""
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("hour", sa.String(10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_downloads_started_at", "downloads", ["started_at"])


def downgrade() -> None:
    """Drop `downloads`."""
    op.drop_index("ix_downloads_started_at", table_name="downloads")
    op.drop_table("downloads")
