"""The job kinds: one line each. The driver claims from their tables, the API routes cancel and delete through
them and the UI lists them (``/ui/config.json``). Adding a kind: its module (a ``jobs.kind.JobKind``), its
model and migration (``store``), and one line here."""

from __future__ import annotations

from jobs.finalize import FinalizeKind
from jobs.kind import JobKind
from jobs.scaling_search import ScalingSearchKind
from jobs.search import SearchKind
from jobs.training import TrainingKind
from store.models import JobMixin

KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    SearchKind(),
    ScalingSearchKind(),
    TrainingKind(),
    FinalizeKind(),
)}


def kind_of(model: type[JobMixin]) -> JobKind:
    """The kind whose table is ``model``."""
    return next(kind for kind in KINDS.values() if kind.model is model)


def job_models() -> tuple[type[JobMixin], ...]:
    """Every kind's table, in registry order (the order a driver claims in)."""
    return tuple(kind.model for kind in KINDS.values())
