"""What a search strategy is: what it starts from (``Start``), what it becomes once started (a ``Judge``), and
the multi-trial strategy, which trains every candidate. The registry is ``workers.search.strategies``.

A strategy is started once per run of a search and returns either a ``Judge``, which turns each proposed
architecture into the task a Ray worker runs, or a ``Stop`` when the search was stopped while the strategy got
ready (a one-shot search trains its supernet first). Everything else (the Optuna study, trials, baselines, Pareto
front, resume, cancel) is the search's and the same for every strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from searchspace.spec import ArchSpec
from workers.runtime import EvaluateFn, StopCheck
from workers.search.config import SearchConfig
from workers.search.trial import Ticket


@dataclass(frozen=True)
class Start:
    """What a strategy starts from: the search's config (sized to its data), the multi-trial evaluation, the
    stop check, when the search's time is up (``deadline``, ``time.monotonic``), where it may keep files that a
    resumed run reads (``checkpoint_dir``; None: nowhere), where it reports a phase's progress (``on_phase``)
    and how often it polls."""

    config: SearchConfig
    study_name: str
    evaluate_fn: EvaluateFn
    should_stop: StopCheck
    deadline: float | None
    checkpoint_dir: Path | None
    on_phase: Callable[[dict[str, Any]], None]
    poll_s: float


class Judge(Protocol):
    """A started strategy."""

    cpu_seconds: float  # spent before the first trial (a supernet's training): counts against cpu_budget_s
    phase_s: float  # wall seconds it took to get ready: they count against timeout_s
    prunes: bool  # whether the search's pruner (per-epoch early stopping) applies to its tasks
    first: tuple[ArchSpec, ...]  # judged before the sampler's own proposals when the study is new

    def task(self, spec: ArchSpec, ticket: Ticket | None) -> tuple[EvaluateFn, tuple[Any, ...]]:
        """The function a Ray worker runs to judge ``spec``, and its arguments."""

    def close(self) -> None:
        """Release what the strategy holds (nothing of it outlives the search's run)."""


class MultiTrial:
    """Every candidate trained at the proxy budget (``budget``) by the search's evaluation, rungs and all."""

    cpu_seconds = phase_s = 0.0
    prunes = True
    first: tuple[ArchSpec, ...] = ()

    def __init__(self, start: Start) -> None:
        self.start = start

    def task(self, spec: ArchSpec, ticket: Ticket | None) -> tuple[EvaluateFn, tuple[Any, ...]]:
        return self.start.evaluate_fn, (spec, self.start.config, ticket)

    def close(self) -> None:
        pass
