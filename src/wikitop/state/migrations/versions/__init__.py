"""Alembic revisions of the task-state schema, oldest first (Alembic itself skips this file)."""
