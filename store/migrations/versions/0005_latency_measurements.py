"""Latency measurements: what users measured of a stored architecture on their device (POST
/v1/architectures/{id}/measurements, ``python -m workers measure --architecture ID --service URL``).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "latency_measurements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("architecture_id", sa.Uuid(), nullable=False),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("threads", sa.BigInteger(), nullable=False),
        sa.Column("batch_size", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("min_round_ms", sa.Float(), nullable=True),
        sa.Column("max_round_ms", sa.Float(), nullable=True),
        sa.Column("device", sa.JSON(), nullable=False),
        sa.Column("loop", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["architecture_id"], ["architectures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_latency_measurements_architecture_created", "latency_measurements",
                    ["architecture_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_latency_measurements_architecture_created", table_name="latency_measurements")
    op.drop_table("latency_measurements")
