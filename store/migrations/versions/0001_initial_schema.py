"""Initial schema: searches, architectures, scaling searches, drivers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _job_columns() -> list[sa.Column]:
    """The columns every queued job has (store.models.JobMixin)."""
    return [
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "drivers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scaling_searches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        *_job_columns(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_scaling_searches_state_created", "scaling_searches", ["state", "created_at"])
    op.create_table(
        "searches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("stopped", sa.String(length=200), nullable=True),
        *_job_columns(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_searches_state_created", "searches", ["state", "created_at"])
    op.create_table(
        "architectures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("search_id", sa.Uuid(), nullable=True),
        sa.Column("trial_number", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("spec_string", sa.Text(), nullable=True),
        sa.Column("params", sa.BigInteger(), nullable=True),
        sa.Column("macs", sa.BigInteger(), nullable=True),
        sa.Column("resolution", sa.BigInteger(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("latency_p90_ms", sa.Float(), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("rejected", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["search_id"], ["searches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("search_id", "trial_number", name="uq_architectures_trial"),
    )
    op.create_index("ix_architectures_search_id", "architectures", ["search_id"])


def downgrade() -> None:
    op.drop_index("ix_architectures_search_id", table_name="architectures")
    op.drop_table("architectures")
    op.drop_index("ix_searches_state_created", table_name="searches")
    op.drop_table("searches")
    op.drop_index("ix_scaling_searches_state_created", table_name="scaling_searches")
    op.drop_table("scaling_searches")
    op.drop_table("drivers")
