"""Latency measurements: what users measured of a stored architecture on their device (POST
/v1/architectures/{id}/measurements, ``python -m workers measure --architecture ID --service URL``); and jobs stored
before the plain loop became the workers' default keep the scaled passes they started with.

``LatencyConfig.loop`` no longer defaults to ``scaled``: a config that names no loop now times by the plain loop
on the CPU. A search or scaling search stored before would read that new default when a driver resumes it, so its
later trials would be timed differently from its earlier ones; this sets ``latency.loop`` to ``scaled`` in every
stored job config whose latency names none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("searches", "scaling_searches")


def _with_old_loop(config: Any) -> Any:
    latency = config.get("latency") if isinstance(config, dict) else None
    if isinstance(latency, dict) and "loop" not in latency:
        return {**config, "latency": {**latency, "loop": "scaled"}}
    return None


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
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Uuid()), sa.column("config", sa.JSON()))
        for row_id, config in bind.execute(sa.select(table.c.id, table.c.config)).all():
            updated = _with_old_loop(config)
            if updated is not None:
                bind.execute(table.update().where(table.c.id == row_id).values(config=updated))


def downgrade() -> None:
    """Drops the measurements; a config's ``loop: scaled`` reads the same on the old code (its default)."""
    op.drop_index("ix_latency_measurements_architecture_created", table_name="latency_measurements")
    op.drop_table("latency_measurements")
