"""Full-fidelity training of one architecture as a job kind: one Ray task trains it with the recipe into the
job's directory under the artifacts directory (a checkpoint every epoch: a job whose driver died resumes from
its last epoch), its epochs land in the job's ``result`` as they finish, and the trained network (test
accuracy, curves, product files) is recorded on its architecture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.kind import JobKindBase, RunningJob
from jobs.trained import ProgressWatch, network_progress, trained_record
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from store import crud
from store.models import JobMixin, Training
from workers.runtime import (
    Evaluated,
    RayExecutor,
    Stop,
    StopReason,
    Task,
    TrialState,
    cluster_cpus,
    restart_ray,
    run_batch,
    with_restarts,
)
from workers.training import TrainBudget, TrainConfig, train_network


@dataclass(frozen=True)
class TrainingRun:
    """How the task ended (None: it never did, the job was stopped first) and why the run stopped."""

    evaluated: Evaluated | None
    stop: Stop

    @property
    def stopped(self) -> Stop | None:
        """FAILING when the task ran to its end and failed (the job fails with its error); else None."""
        if self.stop.reason is StopReason.BUDGET and (self.evaluated is None or self.evaluated.error is not None):
            error = "no outcome" if self.evaluated is None else self.evaluated.error
            return Stop(StopReason.FAILING, f"training failed: {error}")
        return None


def check_threads(threads: int, field: str) -> None:
    """SpecError naming ``field`` when a task of ``threads`` CPUs could never be scheduled on this Ray."""
    available = cluster_cpus()
    if threads > available:
        raise SpecError(field, f"{threads} threads per network, but the Ray cluster has {available} CPUs")


class TrainingKind(JobKindBase):
    name = "training"
    label = "training"
    path = "trainings"
    model = Training
    keeps_files = True

    def config(self, job: JobMixin) -> tuple[ArchSpec, TrainConfig]:
        """The architecture (as submitted: a zoo network already fitted to the data) and how it is trained."""
        return ArchSpec.from_dict(job.config["spec"]), TrainConfig.from_dict(job.config["training"])

    def _set_result(self, job: RunningJob, result: dict[str, Any]) -> None:
        job.in_session(f"training {job.id}: progress", lambda s: crud.set_job_result(
            s, Training, job_id=job.id, resource=self.label, result=result))

    def run(self, job: RunningJob) -> TrainingRun:
        spec, config = job.in_session(f"training {job.id}: read", lambda s: self.config(
            crud.get_job(s, Training, job_id=job.id, resource=self.label)))
        job.check_data(config.dataset)
        if job.artifacts is None:
            raise RuntimeError("the driver gave this job no artifacts directory")
        out = self.directory(job.artifacts, job.id)
        out.mkdir(parents=True, exist_ok=True)
        watch = ProgressWatch(lambda: [out], lambda seen: self._set_result(job, {"network": seen[out.name]}),
                              config.recipe.epochs)
        job.ensure_ray()
        check_threads(config.threads, "threads")
        finished: list[Evaluated] = []
        task = Task(job.evaluate_fn or train_network,
                    (spec.to_string(), config.dataset, config.recipe, str(out), config.threads), None)

        def attempt() -> Stop:
            budget = TrainBudget(device=config.recipe.device.value, gpus_per_trial=1.0)
            executor = RayExecutor(config.threads, config.threads, budget=budget, dataset=config.dataset)
            return run_batch([task], executor, 1, lambda _task, evaluated: finished.append(evaluated),
                             watch.stop_check(job.should_stop))

        stop = with_restarts(attempt, restart_ray)
        watch.poll()
        return TrainingRun(finished[-1] if finished else None, stop)

    def record(self, job: RunningJob, result: TrainingRun) -> dict[str, Any]:
        """The network's curves and figures in ``result``; once trained, recorded on its architecture (a new
        one when the architecture was deleted meanwhile)."""
        out = self.directory(job.artifacts or Path(), job.id)
        evaluated = result.evaluated
        network = network_progress(out)
        if evaluated is None or evaluated.error is not None:  # failed, or stopped (resumed by the next claim)
            network["error"] = None if evaluated is None else evaluated.error
            if result.stop.reason is StopReason.BUDGET:
                network["state"] = TrialState.FAIL.value
            self._set_result(job, {"network": network})
            return {"result": {"network": network}}
        trained = trained_record(out, job.artifacts or Path(), self.name, job.id,
                                 cpu_seconds=evaluated.measured.get("cpu_seconds"))
        architecture_id = job.in_session(f"training {job.id}: record", lambda s: self._record_trained(s, job, trained))
        network.update(state=TrialState.COMPLETE.value, architecture_id=str(architecture_id), error=None,
                       **{k: trained.get(k) for k in ("test_accuracy", "val_accuracy", "test_size", "best_epoch",
                                                      "selected", "stopped", "resumed_from", "train_seconds",
                                                      "cpu_seconds", "files", "export_errors")})
        network["epochs"] = trained["epochs"]
        self._set_result(job, {"network": network})
        return {"result": {"network": network}, "architecture_id": architecture_id}

    def _record_trained(self, session: Any, job: RunningJob, trained: dict[str, Any]) -> Any:
        row = crud.get_job(session, Training, job_id=job.id, resource=self.label)
        architecture_id = row.architecture_id
        if architecture_id is None:  # its architecture was deleted (with its search): store the network again
            spec = self.config(row)[0]
            cost = count(spec)
            added = crud.add_architecture(session, spec=spec, params=cost.params, macs=cost.macs,
                                          origin={"kind": self.name, "training_id": str(job.id)})
            architecture_id = row.architecture_id = added.id
        crud.record_trained(session, architecture_id=architecture_id, job_id=job.id,
                            test_accuracy=trained["test_accuracy"], trained=trained)
        return architecture_id
