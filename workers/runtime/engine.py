"""The job engine both the architecture search and the compound-scaling grid run on.

A ``Source`` proposes evaluations and records their outcomes; the engine keeps ``slots`` of them running on an
``Executor`` (``RayExecutor`` in production), polls the stop check, enforces the time budget, stops a job whose
proposals are all rejected or whose evaluations keep failing, and on any stop hands the unfinished tasks back to
the source to record. When the compute under the executor is lost (``RayUnavailable``), ``with_restarts`` restarts
it through the ``restart`` it is given and runs the job again.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from workers.runtime.cluster import RayUnavailable
from workers.runtime.executor import Task
from workers.runtime.outcome import Evaluated, Outcome

log = logging.getLogger(__name__)


class Proposal(enum.Enum):
    """A proposal settled without an evaluation."""

    REJECTED = "rejected"  # over a params/MACs limit: recorded pruned, does not count against the budget
    REUSED = "reused"  # an identical architecture was evaluated before: its result is copied
    DUPLICATE = "duplicate"  # an identical architecture is being evaluated: it will share that result
    INVALID = "invalid"  # gives no valid network: recorded failed


class StopReason(enum.Enum):
    """Why a job's run ended."""

    BUDGET = "budget"  # everything the budget allows was evaluated
    CANCELLED = "cancelled"  # the user cancelled it, or another driver owns it now
    INTERRUPTED = "interrupted"  # the driver is stopping: the job goes back to the queue and resumes
    TIMEOUT = "timeout"  # the wall-clock budget ran out
    LIMITS = "limits"  # every proposal was over the params/MACs limits
    FAILING = "failing"  # evaluations kept failing
    EXHAUSTED = "exhausted"  # every recent proposal was an architecture evaluated or running already


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


class Source(Protocol):
    """What a job gives the engine."""

    def wants_more(self) -> bool:
        """Whether another proposal may start (the engine keeps at most ``slots`` in flight)."""

    def propose(self) -> Task | Proposal:
        """The next evaluation to run, or how a proposal settled without one."""

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        """Record a finished evaluation."""

    def abandoned(self, task: Task, stop: Stop) -> None:
        """Record an evaluation stopped before it ended."""


class Executor(Protocol):
    """Where the engine runs evaluations (``RayExecutor``; tests use an in-process stand-in)."""

    def __len__(self) -> int:
        """How many tasks are in flight."""

    def submit(self, task: Task) -> None:
        """Start ``task``; RayUnavailable when the compute under the executor is gone."""

    def wait(self, timeout_s: float) -> list[tuple[Task, Evaluated]]:
        """The tasks that finished within ``timeout_s``, with their outcome (RayUnavailable as for ``submit``)."""

    def cancel_all(self) -> list[Task]:
        """Stop every task in flight and hand them back."""

    def healthy(self) -> bool:
        """Whether the compute under the executor still answers (a dead node can leave tasks hanging)."""


StopCheck = Callable[[], StopReason | None]


@dataclass(frozen=True, kw_only=True)
class EngineLimits:
    slots: int
    timeout_s: float | None = None
    max_rejected_in_a_row: int = 500
    max_failed_in_a_row: int = 10
    max_duplicates_in_a_row: int = 200  # reused or duplicate proposals (they spend no budget) before EXHAUSTED
    duplicates_per_wait: int = 3  # with evaluations running, duplicate proposals in a row before waiting for one
    poll_s: float = 0.5
    health_every_s: float = 5.0  # how often Ray's own health is checked while evaluations run


def run_engine(source: Source, executor: Executor, limits: EngineLimits, should_stop: StopCheck | None = None) -> Stop:
    """Run ``source`` until its budget, the time budget, a stop, or a run of rejections or failures.

    When Ray itself fails (RayUnavailable), the running evaluations are recorded as interrupted (so a resumed
    run proposes them again) and the error propagates: see ``with_restarts``.
    """
    try:
        stop = _loop(source, executor, limits, should_stop or (lambda: None))
    except RayUnavailable as err:
        interrupted = Stop(StopReason.INTERRUPTED, str(err))
        for task in executor.cancel_all():
            source.abandoned(task, interrupted)
        raise
    for task in executor.cancel_all():
        source.abandoned(task, stop)
    return stop


def with_restarts(attempt: Callable[[], Stop], restart: Callable[[], None], restarts: int = 3) -> Stop:
    """``attempt()`` (a whole resumable run: open the study, build the source, ``run_engine``), again after
    ``restart()`` (``restart_ray`` in production) when Ray failed under it, up to ``restarts`` times."""
    for done in range(restarts + 1):
        try:
            return attempt()
        except RayUnavailable as err:
            if done == restarts:
                raise
            log.warning("Ray failed (%s); restarting it and resuming (%d/%d)", err, done + 1, restarts)
            restart()
    raise AssertionError("unreachable")


def _loop(source: Source, executor: Executor, limits: EngineLimits, check: StopCheck) -> Stop:
    deadline = None if limits.timeout_s is None else time.monotonic() + limits.timeout_s
    rejected = failed = duplicates = 0
    asked = 0  # duplicates since the last evaluation began or ended: a few, then wait for one to end
    next_health = time.monotonic() + limits.health_every_s
    stop: Stop | None = None
    while stop is None:
        reason = check()
        if reason is not None:
            stop = Stop(reason)
            break
        if deadline is not None and time.monotonic() > deadline:
            stop = Stop(StopReason.TIMEOUT, f"the time budget of {limits.timeout_s:g} s ran out")
            break
        while len(executor) < limits.slots and source.wants_more():
            if asked >= limits.duplicates_per_wait and len(executor):
                break
            proposal = source.propose()
            if isinstance(proposal, Task):
                executor.submit(proposal)
            rejected = rejected + 1 if proposal is Proposal.REJECTED else 0
            duplicate = proposal in (Proposal.REUSED, Proposal.DUPLICATE)
            duplicates, asked = (duplicates + 1, asked + 1) if duplicate else (0, 0)
            if rejected >= limits.max_rejected_in_a_row:
                stop = Stop(StopReason.LIMITS, "no candidate within max_params/max_macs")
                break
            if duplicates >= limits.max_duplicates_in_a_row:
                stop = Stop(StopReason.EXHAUSTED, f"the last {duplicates} proposals were all architectures already "
                                                  "evaluated: the search space looks exhausted")
                break
        if stop is not None:
            break
        if not len(executor):
            stop = Stop(StopReason.BUDGET)
            break
        for task, evaluated in executor.wait(limits.poll_s):
            source.finished(task, evaluated)
            asked = 0
            failed = failed + 1 if evaluated.outcome is Outcome.FAIL else 0
        if time.monotonic() >= next_health:  # a dead raylet can leave leased workers running for a while
            next_health = time.monotonic() + limits.health_every_s
            if not executor.healthy():
                raise RayUnavailable("Ray's node is gone (its raylet or GCS died)")
        if failed >= limits.max_failed_in_a_row:
            stop = Stop(StopReason.FAILING, f"{failed} evaluations in a row failed (see the trials' errors)")
    return stop
