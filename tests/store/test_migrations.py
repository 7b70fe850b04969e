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

    from sqlalchemy.orm import Session

    from store.models import Search
    from workers.search import SearchConfig

    engine = _at(database_url, "0002")  # whatever ran before in this database (0003 adds no column)
    old_config = SearchConfig().to_dict()
    del old_config["dataset"]["test_fraction"]
    old, new = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:  # the columns of 0002 only (later revisions add some)
        conn.execute(Search.__table__.insert(), [{"id": old, "config": old_config},
                                                 {"id": new, "config": {"dataset": {"test_fraction": 0.3}}}])
    migrate(database_url)
    with Session(engine) as session:
        stored = session.get(Search, old).config
        assert stored["dataset"]["test_fraction"] == 0.0
        assert SearchConfig.from_dict(stored).dataset.test_fraction == 0.0
        assert session.get(Search, new).config == {"dataset": {"test_fraction": 0.3}}
        assert session.get(Search, old).supernet is None  # 0007: a multi-trial search has no supernet


def _at(database_url: str, revision: str):
    """The database's engine, its schema upgraded or downgraded to ``revision``."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import store.db

    config = Config()
    config.set_main_option("script_location", str(Path(store.db.__file__).with_name("migrations")))
    engine = get_engine(database_url)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        command.downgrade(config, revision)
        conn.commit()
    return engine


def test_jobs_stored_before_the_plain_loop_default_keep_their_scaled_passes(database_url: str) -> None:
    """0005: a job whose latency names no loop keeps ``scaled`` (the default it started with); one naming a loop,
    or without latency, is untouched; the measurements table comes and goes with the revision."""
    import uuid

    from sqlalchemy.orm import Session

    from store.models import ScalingSearch, Search
    from workers.latency import LatencyConfig
    from workers.search import SearchConfig

    engine = _at(database_url, "0003")
    assert "latency_measurements" not in inspect(engine).get_table_names()
    old_config = SearchConfig().to_dict()
    assert "loop" not in old_config["latency"]
    old, plain, grid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:  # the columns of 0003 only (later revisions add some)
        conn.execute(Search.__table__.insert(), [{"id": old, "config": old_config},
                                                 {"id": plain, "config": {"latency": {"loop": "plain"}}}])
        conn.execute(ScalingSearch.__table__.insert(), [{"id": grid, "config": {"latency": None}}])
    migrate(database_url)
    assert "latency_measurements" in inspect(engine).get_table_names()
    with Session(engine) as session:
        stored = session.get(Search, old).config
        assert stored["latency"]["loop"] == "scaled"
        assert SearchConfig.from_dict(stored).latency.timing_loop == "scaled"
        assert session.get(Search, plain).config == {"latency": {"loop": "plain"}}
        assert session.get(ScalingSearch, grid).config == {"latency": None}
    assert LatencyConfig().timing_loop == "plain" and LatencyConfig(device="cuda").timing_loop == "scaled"


def test_jobs_stored_before_studies_carried_names_keep_reading_theirs(database_url: str) -> None:
    """0008: a job row from before has no study name and runs in the unnamed study it was created with; a new
    job's row names its study after the job."""
    import uuid

    from sqlalchemy.orm import Session

    from jobs.registry import KINDS
    from store.models import ScalingSearch, Search

    migrate(database_url)
    engine = get_engine(database_url)
    old, new = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(Search.__table__.insert(), [{"id": old, "name": "digits small", "config": {}},
                                                 {"id": new, "name": "Digits, small!", "config": {}}])
        conn.execute(ScalingSearch.__table__.insert(), [{"id": old, "name": "grid", "config": {}}])
    with Session(engine) as session:
        search, kind = session.get(Search, new), KINDS["search"]
        kind.name_study(search)
        session.commit()
        assert search.study == f"search-digits-small-{new.hex}"
        assert kind.study_of(session.get(Search, old)) == f"search-{old.hex}"  # the name it was created with
        assert kind.study_of(search) == search.study
        grid = session.get(ScalingSearch, old)
        assert KINDS["scaling-search"].study_of(grid) == f"scaling-search-{old.hex}"
