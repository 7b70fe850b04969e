"""Jobs stored before the held-out test split keep their data split: ``dataset.test_fraction`` set to 0.

Datasets gained ``test_fraction`` (default 0.2: a share of every class no search trains or validates on). A
search or scaling search stored before it has no such field and would read the new default when a driver
resumes it, so its later trials would train on a different split than its earlier ones; this sets the field to
0 (the split those jobs started with) in every stored job config that lacks it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("searches", "scaling_searches")


def _with_old_split(config: Any) -> Any:
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if isinstance(dataset, dict) and "test_fraction" not in dataset:
        return {**config, "dataset": {**dataset, "test_fraction": 0.0}}
    return None


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Uuid()), sa.column("config", sa.JSON()))
        for row_id, config in bind.execute(sa.select(table.c.id, table.c.config)).all():
            updated = _with_old_split(config)
            if updated is not None:
                bind.execute(table.update().where(table.c.id == row_id).values(config=updated))


def downgrade() -> None:
    """Nothing to undo: a config with ``test_fraction`` 0 reads the same without the field on the old code."""
