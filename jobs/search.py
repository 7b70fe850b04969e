"""The architecture search as a job kind: its Optuna study (and its baselines' study beside it), every told
trial and baseline mirrored into ``architectures`` as it lands."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from jobs.kind import JobKindBase, RunningJob
from store import crud
from store.errors import ConflictError
from store.models import Finalize, JobMixin, Search
from store.settings import Settings
from workers.runtime import Stop, StopReason
from workers.search import (
    BaselineRecord,
    SearchConfig,
    SearchResult,
    Tracking,
    TrialRecord,
    baseline_study_name,
    supernet_checkpoint,
    trackers_for,
)


class SearchKind(JobKindBase):
    name = "search"
    label = "search"
    path = "searches"
    model = Search
    cancelled_columns: ClassVar[dict[str, Any]] = {"stopped": str(Stop(StopReason.CANCELLED))}

    def config(self, job: JobMixin) -> SearchConfig:
        return SearchConfig.from_dict(job.config)

    def studies(self, study: str) -> list[str]:
        return [study, baseline_study_name(study)]

    def delete(self, session: Session, settings: Settings, job_id: uuid.UUID) -> None:
        """As every kind, and its supernet checkpoint (one-shot) goes; but not while a finalize of the search waits
        or runs (it reads the search's study and supernet)."""
        if crud.active_jobs(session, Finalize, search_id=job_id):
            raise ConflictError(f"search {job_id} is being finalized; cancel its finalize first "
                                f"(GET /v1/finalizes?search_id={job_id})")
        study = self.study_of(self.get(session, job_id))
        super().delete(session, settings, job_id)
        supernet = supernet_checkpoint(settings.checkpoint_dir, study)
        if supernet is not None:
            supernet.unlink(missing_ok=True)

    def run(self, job: RunningJob) -> SearchResult:
        """Run (or resume) the search's study, mirroring every told trial and baseline."""
        from workers.search import TASKS, SearchDriver

        config = job.in_session(f"search {job.id}: read", lambda s: self.config(crud.get_search(s, search_id=job.id)))
        job.check_data(TASKS[config.task].data(config))
        tracking = Tracking(trackers_for(job.tracking))
        tracking.start(job.study, config.to_dict())

        def mirror(record: TrialRecord) -> None:
            job.in_session(f"search {job.id}: mirror trial {record.number}",
                           lambda s: crud.record_trial(s, search_id=job.id, record=record))
            job.on_trial(record)

        def mirror_baseline(record: BaselineRecord) -> None:
            job.in_session(f"search {job.id}: mirror baseline {record.name}",
                           lambda s: crud.record_baseline(s, search_id=job.id, record=record))

        def mirror_supernet(progress: dict[str, Any]) -> None:
            job.in_session(f"search {job.id}: supernet progress",
                           lambda s: crud.set_supernet_progress(s, search_id=job.id, progress=progress))

        job.ensure_ray()
        extra: dict[str, Any] = job.evaluate()
        if config.latency.profile_id is not None:  # latencies predicted from the uploaded table
            extra["profile"] = job.in_session(f"search {job.id}: load its device profile", lambda s: (
                crud.load_device_profile(s, profile_id=config.latency.profile_id)))
        driver = SearchDriver(config, job.url, job.study, should_stop=job.should_stop, on_trial=tracking.around(mirror),
                              on_baseline=mirror_baseline, checkpoint_dir=job.checkpoint_dir,
                              on_phase=mirror_supernet, **extra)
        result = driver.run()
        tracking.finish({f"trials_{state.lower()}": float(n) for state, n in result.counts().items()})
        return result

    def record(self, job: RunningJob, result: SearchResult) -> dict[str, Any]:
        """Every trial and baseline once more (including those a dead driver left and this run failed). A one-shot
        search's supernet checkpoint stays: its finalize fine-tunes from it (it goes with the search)."""
        job.in_session(f"search {job.id}: mirror its trials", lambda s: [
            crud.record_trial(s, search_id=job.id, record=record) for record in result.trials]
            + [crud.record_baseline(s, search_id=job.id, record=record) for record in result.baselines])
        return {"stopped": None if result.stopped is None else str(result.stopped)[:200]}
