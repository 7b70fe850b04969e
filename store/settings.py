"""Service settings from the environment (``NAS_*``, plus ``DATABASE_URL``), validated by pydantic-settings."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///nas.db"


class Settings(BaseSettings):
    """Every knob of the API and the driver; each field is read from ``NAS_<FIELD>`` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="NAS_", frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "NAS_DATABASE_URL"),
        description="SQLAlchemy URL of the service database (Optuna studies live there too)",
    )
    api_key: SecretStr | None = Field(None, description="when set, mutating endpoints need header X-API-Key")
    read_key: SecretStr | None = Field(None, description=(
        "when set, every request of the API (reads too) needs header X-API-Key: this key, or NAS_API_KEY (which "
        "also reads); alone it is one key for everything. Open: the health probes, /openapi.json, /docs and the "
        "UI's static files"))
    data_root: Path | None = Field(
        None, description="datasets may be directories under this path; unset: only the built-in 'digits' and 'shapes'"
    )
    # limits on what a request may ask for
    max_trials: int = Field(500, ge=1, description="trials per search")
    max_workers: int = Field(64, ge=1, description="parallel evaluations per search")
    max_epochs: int = Field(100, ge=1, description="training epochs per trial")
    max_resolution: int = Field(1024, ge=8, description="input resolution of any spec or search space")
    max_params: int = Field(200_000_000, ge=1, description="parameters of any spec")
    max_macs: int = Field(100_000_000_000, ge=1, description="multiply-adds of any spec")
    max_concurrent_searches: int = Field(8, ge=1, description="searches queued or running at once")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="request body size")
    max_profile_bytes: int = Field(16_777_216, ge=1024, description="body size of POST /v1/devices (a profile)")
    max_phis: int = Field(16, ge=1, description="scaled networks per POST /v1/scalings")
    dataset_check_s: float = Field(20.0, gt=0, le=3600, description="time limit of checking a dataset directory "
                                                                    "when a job is submitted (then 422)")
    export_dir: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nas-scaler" / "exports",
        description="where built exports (ONNX, TorchScript, weights) are kept, content-addressed; API processes "
                    "may share it")
    checkpoint_dir: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nas-scaler" / "checkpoints",
        description="where one-shot searches keep their supernet's checkpoint while they run (a resumed search "
                    "trains on from it; removed when the search ends); with several drivers or a Ray cluster, a "
                    "directory all of them reach")
    artifacts_dir: Path | None = Field(None, description=(
        "where trained networks are kept (checkpoints, weights, ONNX, TorchScript, the standalone .py), a directory "
        "per training or finalize job; the API, every driver and every Ray worker must reach the same directory "
        "(one machine, or a shared volume). Unset: beside a SQLite database (nas.db: nas-artifacts/); with "
        "PostgreSQL $XDG_DATA_HOME/nas-scaler/artifacts (default ~/.local/share/...)"))
    export_queue: int = Field(4, ge=1, le=1000, description="export builds waiting or running at once (then 503 "
                                                            "with Retry-After)")
    read_cache_s: float = Field(1.0, ge=0, le=60, description="GET /v1/searches/{id} answers at most this old "
                                                              "(one database read per search per period; 0: off)")
    # following searches in other tools (workers.search.tracking)
    mlflow_uri: str | None = Field(None, max_length=4096, description="MLflow tracking URI: every search a driver "
                                   "runs is logged there (a run per search, a child run per trial)")
    tensorboard_dir: str | None = Field(None, max_length=4096, description="directory of TensorBoard event "
                                        "files for every search a driver runs (a sub-directory per search)")
    # the driver
    driver_jobs: int = Field(1, ge=1, le=64, description="jobs one driver process runs at once")
    ray_cpus: int | None = Field(None, ge=1, description="CPUs of the local Ray (default: all); RAY_ADDRESS joins a cluster")
    poll_s: float = Field(1.0, gt=0, le=60, description="how often an idle driver looks for queued jobs")
    heartbeat_s: float = Field(5.0, gt=0, le=600, description="how often a driver marks its jobs alive")
    stale_after_s: float = Field(30.0, gt=0, description="a running job without heartbeat this long is re-claimed")
    max_attempts: int = Field(5, ge=1, description="claims of one job before it is failed for good")
    heartbeat_file: Path | None = Field(None, description="a driver touches this file at every heartbeat "
                                                          "(container healthchecks read its age)")

    @field_validator("api_key", "read_key", "data_root", "heartbeat_file", "ray_cpus", "artifacts_dir",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:///FILE or postgresql+psycopg://... URL")
        if ":memory:" in url or url == "sqlite:///":
            raise ValueError("an in-memory SQLite database cannot be shared by the API, the driver and Optuna")
        return url

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that give them (for a child process)."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env["DATABASE_URL" if name == "database_url" else f"NAS_{name.upper()}"] = str(value)
        return env

    @property
    def artifacts(self) -> Path:
        """The artifacts directory (``artifacts_dir``, or its default for the database), absolute."""
        if self.artifacts_dir is not None:
            return self.artifacts_dir.expanduser().absolute()
        if self.backend == "sqlite":
            database = Path(self.database_url.removeprefix("sqlite:///").split("?", 1)[0]).expanduser().absolute()
            return database.with_name(f"{database.stem}-artifacts")
        data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        return Path(data).absolute() / "nas-scaler" / "artifacts"

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"
