"""Full-fidelity training: the trainings and finalizes job tables, and what full training found on an
architecture (its test accuracy, the run's figures and files, and the job that trained it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _job_columns() -> list[sa.Column]:
    """The columns every queued job has (store.models.JobMixin), as 0001 wrote them."""
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
    op.add_column("architectures", sa.Column("test_accuracy", sa.Float(), nullable=True))
    op.add_column("architectures", sa.Column("trained", sa.JSON(), nullable=True))
    op.add_column("architectures", sa.Column("trained_by", sa.Uuid(), nullable=True))
    op.create_index("ix_architectures_trained_by", "architectures", ["trained_by"])
    op.create_table(
        "trainings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("architecture_id", sa.Uuid(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        *_job_columns(),
        sa.ForeignKeyConstraint(["architecture_id"], ["architectures.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_trainings_state_created", "trainings", ["state", "created_at"])
    op.create_index("ix_trainings_architecture_id", "trainings", ["architecture_id"])
    op.create_table(
        "finalizes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("search_id", sa.Uuid(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        *_job_columns(),
        sa.ForeignKeyConstraint(["search_id"], ["searches.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_finalizes_state_created", "finalizes", ["state", "created_at"])
    op.create_index("ix_finalizes_search_id", "finalizes", ["search_id"])


def downgrade() -> None:
    op.drop_index("ix_finalizes_search_id", table_name="finalizes")
    op.drop_index("ix_finalizes_state_created", table_name="finalizes")
    op.drop_table("finalizes")
    op.drop_index("ix_trainings_architecture_id", table_name="trainings")
    op.drop_index("ix_trainings_state_created", table_name="trainings")
    op.drop_table("trainings")
    op.drop_index("ix_architectures_trained_by", table_name="architectures")
    with op.batch_alter_table("architectures") as table:  # SQLite drops columns by copying the table
        table.drop_column("trained_by")
        table.drop_column("trained")
        table.drop_column("test_accuracy")
