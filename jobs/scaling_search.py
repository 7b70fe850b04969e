"""The compound-coefficient grid search as a job kind: its candidates land in the job's ``result`` as they
finish, and the chosen coefficients' phi = 1 network is stored as an architecture (which stays when the job is
deleted: it is a network of its own).

At full fidelity (``GridConfig.fidelity``) the job also trains the winner's family and its baselines
(``scaler.family_train.run_scaling``) under ``<artifacts>/scaling-searches/<job id hex>/``; the result holds them
(``family``: every member's and baseline's test accuracy per seed, MACs, latency and product directory) and each
trained member is stored as an architecture (origin kind ``scaling-search`` with its ``phi`` and ``product``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from jobs.kind import JobKindBase, RunningJob
from jobs.trained import trained_record
from store import crud
from store.models import JobMixin, ScalingSearch

if TYPE_CHECKING:
    from scaler.family_report import FamilyNetwork
    from scaler.grid_config import GridConfig
    from scaler.grid_results import CandidateResult, GridResult
    from searchspace.spec import ArchSpec


class ScalingSearchKind(JobKindBase):
    name = "scaling-search"
    label = "scaling search"
    path = "scaling-searches"
    model = ScalingSearch
    keeps_files = True  # a full-fidelity job's trained networks (deleted with it; its architectures stay, untrained)

    def config(self, job: JobMixin) -> tuple[ArchSpec, GridConfig]:
        """The base network and the grid."""
        from scaler.grid_config import GridConfig
        from searchspace.spec import ArchSpec

        return ArchSpec.from_dict(job.config["base"]), GridConfig.from_dict(job.config["grid"])

    def out(self, job: RunningJob) -> Path:
        """Where a full-fidelity job keeps its trained networks."""
        from searchspace.errors import SpecError

        if job.artifacts is None:
            raise SpecError("fidelity", "full fidelity needs the service's artifacts directory (NAS_ARTIFACTS_DIR)")
        return self.directory(job.artifacts, job.id)

    def run(self, job: RunningJob) -> GridResult:
        from scaler.family_train import run_scaling
        from scaler.grid_config import Fidelity

        base, grid = job.in_session(f"scaling search {job.id}: read",
                                    lambda s: self.config(crud.get_scaling_search(s, job_id=job.id)))
        job.check_data(grid.dataset)
        progress: dict[str, Any] = {"finished": [], "family_runs": []}

        def save() -> None:
            job.in_session(f"scaling search {job.id}: progress", lambda s: crud.set_scaling_progress(
                s, job_id=job.id, result={key: list(v) if isinstance(v, list) else v for key, v in progress.items()}))

        def candidate(result: CandidateResult, done: int, total: int) -> None:
            progress.update(done=done, total=total)
            progress["finished"].append(result.to_dict())
            save()

        def network(name: str, figures: dict[str, Any]) -> None:
            progress["family_runs"].append({"network": name, "test_accuracy": figures.get("accuracy"),
                                       "error": figures.get("error"), "directory": figures.get("directory")})
            save()

        profile = None
        if grid.latency is not None and grid.latency.profile_id is not None:
            profile = job.in_session(f"scaling search {job.id}: load its device profile", lambda s: (
                crud.load_device_profile(s, profile_id=grid.latency.profile_id)))
        out = self.out(job) if grid.fidelity is Fidelity.FULL else None
        job.ensure_ray()
        return run_scaling(base, grid, job.url, out, study_name=job.study, should_stop=job.should_stop,
                           on_candidate=candidate, on_network=network, profile=profile, **job.evaluate())

    def record(self, job: RunningJob, result: GridResult) -> dict[str, Any]:
        """The ranked result, the family's trained members stored as architectures, and the chosen coefficients'
        phi = 1 network (the family's own when it trained one)."""
        from scaler.scaling import derive

        data = result.to_dict()
        chosen = result.chosen
        if chosen is None:
            return {"result": data}
        stored = job.in_session(f"scaling search {job.id}: read", lambda s: crud.get_scaling_search(s, job_id=job.id))
        common = {"kind": self.name, "scaling_search_id": str(job.id), "base": stored.config["base_ref"]}
        if result.family is not None:
            coefficients = {"alpha": result.family.alpha, "beta": result.family.beta, "gamma": result.family.gamma}
            for member, shown in zip(result.family.members, data["family"]["members"], strict=True):
                if member.error is None:
                    shown["architecture_id"] = self._store_member(job, member, {**common, **coefficients})
        phi1 = next((m.get("architecture_id") for m in (data["family"] or {}).get("members", [])
                     if m["phi"] == 1 and m.get("architecture_id")), None)
        if phi1 is None:
            member = derive(self.config(stored)[0], chosen.alpha, chosen.beta, chosen.gamma, 1)
            origin = {**common, **{k: v for k, v in member.to_dict().items() if k != "spec"}}
            row = job.in_session(f"scaling search {job.id}: store the chosen network", lambda s: crud.add_architecture(
                s, spec=member.spec, params=member.count.params, macs=member.count.macs, origin=origin))
            phi1 = str(row.id)
        data["chosen_architecture_id"] = phi1
        return {"result": data}

    def _store_member(self, job: RunningJob, member: FamilyNetwork, common: dict[str, Any]) -> str:
        """A trained family member as an architecture; its id. ``product`` is the first seed's product
        directory (``products``: every seed's)."""
        family = member.to_dict()
        origin = {**common, **{k: family[k] for k in (
            "phi", "macs_ratio", "ideal_ratio", "seeds", "test_accuracies", "test_accuracy", "test_accuracy_std",
            "val_accuracy", "latency_ms", "latency_source")}, "product": member.directory,
            "products": list(member.directories)}
        trained = None
        if member.directory is not None and job.artifacts is not None:  # its downloads are the trained files
            trained = trained_record(Path(member.directory), job.artifacts, self.name, job.id,
                                     test_accuracies=list(member.test_accuracies))

        def store(s: Session) -> str:
            row = crud.add_architecture(s, spec=member.spec, params=member.params, macs=member.macs, origin=origin)
            if trained is not None and member.test_accuracy is not None:
                crud.record_trained(s, architecture_id=row.id, job_id=job.id, test_accuracy=member.test_accuracy,
                                    trained=trained)
            return str(row.id)

        return job.in_session(f"scaling search {job.id}: store family member {member.name}", store)
