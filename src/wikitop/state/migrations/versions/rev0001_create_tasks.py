"""Create the tasks table: one row per hour with its status, lease and provenance.

Revision ID: 0001
Revises:
Create Date: 2024-06-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `tasks` and its (status, hour) index."""
    # Revisions spell their columns out instead of importing sql.TASKS: a revision must keep
    # meaning the same thing after the live table definition has moved on.
    op.create_table(
        "tasks",
        sa.Column("hour", sa.String(10), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("try_count", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("data_path", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("worker", sa.Text()),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("blacklist_sha256", sa.String(64)),
        sa.Column("top_n", sa.Integer()),
        sa.Column("dump_bytes", sa.BigInteger()),
        sa.Column("lines_read", sa.BigInteger()),
        sa.Column("lines_skipped", sa.BigInteger()),
        sa.Column("rows", sa.BigInteger()),
        sa.Column("duration_s", sa.Double()),
    )
    op.create_index("ix_tasks_status_hour", "tasks", ["status", "hour"])


def downgrade() -> None:
    """Drop `tasks`."""
    op.drop_index("ix_tasks_status_hour", table_name="tasks")
    op.drop_table("tasks")
