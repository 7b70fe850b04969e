"""The Alembic migrations build exactly the models' schema, idempotently, beside Optuna's own tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from store.db import VERSION_TABLE, get_engine, migrate
from store.models import Base


def test_migrations_match_the_models_and_coexist_with_optuna(database_url: str) -> None:
    import optuna

    from workers.runtime import open_storage

    migrate(database_url)
    migrate(database_url)  # a second start is a no-op
    optuna.create_study(storage=open_storage(database_url), study_name="coexist", load_if_exists=True)
    engine = get_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) | {VERSION_TABLE, "alembic_version", "studies", "trials"} <= tables
    with engine.connect() as conn:
        ours = {"version_table": VERSION_TABLE,
                "include_name": lambda name, kind, _: kind != "table" or name in Base.metadata.tables}
        context = MigrationContext.configure(conn, opts=ours)
        assert context.get_current_revision() == "0002"
        assert compare_metadata(context, Base.metadata) == []
