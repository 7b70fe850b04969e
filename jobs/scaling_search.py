"""The compound-coefficient grid search as a job kind: its candidates land in the job's ``result`` as they
finish, and the chosen coefficients' phi = 1 network is stored as an architecture (which stays when the job is
deleted: it is a network of its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.kind import JobKindBase, RunningJob
from store import crud
from store.models import JobMixin, ScalingSearch

if TYPE_CHECKING:
    from scaler.grid_config import GridConfig
    from scaler.grid_results import CandidateResult, GridResult
    from searchspace.spec import ArchSpec


class ScalingSearchKind(JobKindBase):
    name = "scaling-search"
    label = "scaling search"
    path = "scaling-searches"
    model = ScalingSearch

    def config(self, job: JobMixin) -> tuple[ArchSpec, GridConfig]:
        """The base network and the grid."""
        from scaler.grid_config import GridConfig
        from searchspace.spec import ArchSpec

        return ArchSpec.from_dict(job.config["base"]), GridConfig.from_dict(job.config["grid"])

    def run(self, job: RunningJob) -> GridResult:
        from scaler.grid import run_grid

        base, grid = job.in_session(f"scaling search {job.id}: read",
                                    lambda s: self.config(crud.get_scaling_search(s, job_id=job.id)))
        job.check_data(grid.dataset)
        finished: list[dict[str, Any]] = []

        def progress(result: CandidateResult, done: int, total: int) -> None:
            finished.append(result.to_dict())
            job.in_session(f"scaling search {job.id}: progress", lambda s: crud.set_scaling_progress(
                s, job_id=job.id, result={"done": done, "total": total, "finished": list(finished)}))

        job.ensure_ray()
        return run_grid(base, grid, job.url, study_name=job.study, should_stop=job.should_stop,
                        on_candidate=progress, **job.evaluate())

    def record(self, job: RunningJob, result: GridResult) -> dict[str, Any]:
        """The ranked result, and the chosen coefficients' phi = 1 network stored as an architecture."""
        from scaler.scaling import derive

        data = result.to_dict()
        chosen = result.chosen
        if chosen is not None:
            stored = job.in_session(f"scaling search {job.id}: read", lambda s: crud.get_scaling_search(s, job_id=job.id))
            base = self.config(stored)[0]
            member = derive(base, chosen.alpha, chosen.beta, chosen.gamma, 1)
            origin = {"kind": self.name, "scaling_search_id": str(job.id), "base": stored.config["base_ref"],
                      **{k: v for k, v in member.to_dict().items() if k != "spec"}}
            row = job.in_session(f"scaling search {job.id}: store the chosen network", lambda s: crud.add_architecture(
                s, spec=member.spec, params=member.count.params, macs=member.count.macs, origin=origin))
            data["chosen_architecture_id"] = str(row.id)
        return {"result": data}
