"""A search's finalize as a job kind: its top-k architectures and its baselines trained at full fidelity on Ray
(``workers.search.finalize``) into the job's directory under the artifacts directory, every network's epochs in
the job's ``result`` as they finish, each trained network recorded on its architecture as it lands, and the
proxy truth (Spearman, Kendall, the fully trained front against each baseline) in ``result`` at the end.

A finalize whose driver died resumes where it was: finished networks are not trained again, running ones resume
from their last epoch's checkpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jobs.kind import JobKindBase, RunningJob
from jobs.search import SearchKind
from jobs.trained import ProgressWatch, network_progress, trained_record
from jobs.training import check_threads
from store import crud
from store.errors import ConflictError
from store.models import Finalize, JobMixin
from workers.runtime import Stop, StopReason, TrialState
from workers.search import (
    FinalizeConfig,
    FinalizeReport,
    NetworkKind,
    NetworkResult,
    SearchConfig,
    finalize,
    supernet_checkpoint,
)

NETWORKS = "networks"  # the sub-directory of every network's product (``workers.search.finalize``)
BASELINE = "baseline-"  # a baseline's network name: the prefix, then its zoo name


@dataclass(frozen=True)
class FinalizeRun:
    report: FinalizeReport

    @property
    def stopped(self) -> Stop | None:
        """FAILING when the finalize ran to its end and no network trained (the job fails); else None."""
        trained = [n for n in self.report.networks if n.error is None]
        if trained or not self.report.stopped.startswith(StopReason.BUDGET.value):
            return None
        errors = {n.error for n in self.report.networks}
        return Stop(StopReason.FAILING, f"no network trained at full fidelity: {'; '.join(sorted(map(str, errors)))}")


class FinalizeKind(JobKindBase):
    name = "finalize"
    label = "finalize"
    path = "finalizes"
    model = Finalize
    keeps_files = True

    def config(self, job: JobMixin) -> FinalizeConfig:
        return FinalizeConfig.from_dict(job.config["finalize"])

    def run(self, job: RunningJob) -> FinalizeRun:
        config, search_id, search = job.in_session(f"finalize {job.id}: read", lambda s: self._read(s, job.id))
        from workers.search import TASKS

        job.check_data(TASKS[search.task].data(search))
        if job.artifacts is None:
            raise RuntimeError("the driver gave this job no artifacts directory")
        out = self.directory(job.artifacts, job.id)
        finished: dict[str, dict[str, Any]] = {}

        def record_progress(seen: dict[str, dict[str, Any]]) -> None:
            networks = [{**progress, **finished.get(name, {})} for name, progress in sorted(seen.items())]
            self._set_result(job, {"networks": networks})

        watch = ProgressWatch(lambda: sorted(p for p in (out / NETWORKS).glob("*") if p.is_dir()), record_progress,
                              config.recipe.epochs)

        def on_network(network: NetworkResult) -> None:
            entry = self._network(network, out, job.artifacts or Path())
            if network.error is None:
                entry.update(self._record(job, search_id, network, out))
            finished[network.candidate.name] = entry
            watch.poll(force=True)

        job.ensure_ray()
        check_threads(config.threads, "threads")
        study = job.in_session(f"finalize {job.id}: read its search's study", lambda s: SearchKind().study_of(
            crud.get_search(s, search_id=search_id)))
        report = finalize(job.url, study, config, out, search=search, should_stop=watch.stop_check(job.should_stop),
                          on_network=on_network, supernet=supernet_checkpoint(job.checkpoint_dir, study))
        return FinalizeRun(report)

    def record(self, job: RunningJob, result: FinalizeRun) -> dict[str, Any]:
        """Every trained network on its architecture once more (one that finished before a driver died, too),
        the networks with their curves and the proxy truth in ``result``."""
        artifacts = job.artifacts or Path()
        out = self.directory(artifacts, job.id)
        search_id = job.in_session(f"finalize {job.id}: read", lambda s: self._read(s, job.id)[1])
        report = result.report.to_dict()
        networks = []
        for network in result.report.networks:
            entry = self._network(network, out, artifacts)
            if network.error is None:
                entry.update(self._record(job, search_id, network, out))
            elif not report["stopped"].startswith(StopReason.BUDGET.value):  # stopped: resumed by the next claim
                entry["state"] = network_progress(out / NETWORKS / network.candidate.name)["state"]
            networks.append(entry)
        ended = report["stopped"].startswith(StopReason.BUDGET.value)  # else it resumes: no truth over a part
        final = {"networks": networks, "proxy_truth": report["proxy_truth"] if ended else None,
                 "cpu_seconds": report["cpu_seconds"], "stopped": report["stopped"], "objective": report["objective"]}
        self._set_result(job, final)
        return {"result": final}

    # --- helpers ------------------------------------------------------------------------------------------

    def _read(self, session: Session, job_id: uuid.UUID) -> tuple[FinalizeConfig, uuid.UUID, SearchConfig]:
        row = crud.get_job(session, Finalize, job_id=job_id, resource=self.label)
        if row.search_id is None:
            raise ConflictError(f"finalize {job_id}: its search was deleted")
        search = crud.get_search(session, search_id=row.search_id)
        return self.config(row), row.search_id, SearchConfig.from_dict(search.config)

    def _set_result(self, job: RunningJob, result: dict[str, Any]) -> None:
        job.in_session(f"finalize {job.id}: progress", lambda s: crud.set_job_result(
            s, Finalize, job_id=job.id, resource=self.label, result=result))

    @staticmethod
    def _network(network: NetworkResult, out: Path, artifacts: Path) -> dict[str, Any]:
        """A finished network as ``result`` shows it: its state and curves, its directory relative to the
        artifacts directory."""
        directory = out / NETWORKS / network.candidate.name
        state = TrialState.FAIL if network.error is not None else TrialState.COMPLETE
        return {**network.to_dict(), "state": state.value, "directory": directory.relative_to(artifacts).as_posix(),
                "epochs_total": network_progress(directory)["epochs_total"]}

    def _record(self, job: RunningJob, search_id: uuid.UUID, network: NetworkResult, out: Path) -> dict[str, Any]:
        """Record a trained network on its architecture (the search's trial or baseline); its id (None when that
        row is gone)."""
        directory = out / NETWORKS / network.candidate.name
        trained = trained_record(directory, job.artifacts or Path(), self.name, job.id,
                                 cpu_seconds=network.cpu_seconds, proxy_accuracy=network.candidate.proxy_accuracy,
                                 inherited=network.inherited)

        def store(session: Session) -> str | None:
            candidate = network.candidate
            try:
                if candidate.kind == NetworkKind.TRIAL and candidate.trial is not None:
                    [row] = crud.trials_by_number(session, search_id=search_id, numbers=[candidate.trial])
                else:
                    row = crud.baseline_rows(session, search_id=search_id)[candidate.name.removeprefix(BASELINE)]
            except KeyError:  # the search was deleted meanwhile: its report stays on the finalize
                return None
            crud.record_trained(session, architecture_id=row.id, job_id=job.id,
                                test_accuracy=trained["test_accuracy"], trained=trained)
            return str(row.id)

        return {"architecture_id": job.in_session(f"finalize {job.id}: record {network.candidate.name}", store)}
