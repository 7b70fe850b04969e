"""Searches and scaling searches name their Optuna study (``study``), which carries the job's name.

A job stored before this has no study name in its row (null): it keeps running in, and reading, the study of
the unnamed form (``<kind>-<id hex>``) that it was created with.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("searches", "scaling_searches")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("study", sa.String(length=200), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("study")
