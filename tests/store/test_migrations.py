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
        assert context.get_current_revision() == "0007"
        assert compare_metadata(context, Base.metadata) == []


def test_jobs_stored_before_the_test_split_keep_their_split(database_url: str) -> None:
    """0003: a search stored without ``dataset.test_fraction`` reads 0 (its old split); one with it is untouched."""
    import uuid
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    import store.db
    from store.models import Search
    from workers.search import SearchConfig

    config = Config()
    config.set_main_option("script_location", str(Path(store.db.__file__).with_name("migrations")))
    engine = get_engine(database_url)
    with engine.connect() as conn:  # at 0002, whatever ran before in this database
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        command.downgrade(config, "0002")
        conn.commit()
    old_config = SearchConfig().to_dict()
    del old_config["dataset"]["test_fraction"]
    old, new = uuid.uuid4(), uuid.uuid4()
    with Session(engine) as session:  # the columns of 0002 only (later revisions add some)
        session.execute(insert(Search.__table__), [{"id": old, "config": old_config},
                                                  {"id": new, "config": {"dataset": {"test_fraction": 0.3}}}])
        session.commit()
    migrate(database_url)
    with Session(engine) as session:
        stored = session.get(Search, old).config
        assert stored["dataset"]["test_fraction"] == 0.0
        assert SearchConfig.from_dict(stored).dataset.test_fraction == 0.0
        assert session.get(Search, new).config == {"dataset": {"test_fraction": 0.3}}
        assert session.get(Search, old).supernet is None  # 0007: a multi-trial search has no supernet
