"""A fixed list of evaluations on the job engine: each runs once on a Ray worker, its outcome goes to a callback.

Full-fidelity finalize and the proxy check have no sampler: they know every task up front. ``run_batch`` runs
them ``slots`` at a time on a ``RayExecutor`` (so they get its CPU bound, niceness, dataset shipment, measured
``cpu_seconds`` and its one mapping of Ray's errors) and hands each outcome, or the stop that abandoned it, back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from workers.runtime.engine import EngineLimits, Executor, Proposal, Stop, StopCheck, run_engine
from workers.runtime.executor import Task
from workers.runtime.outcome import Evaluated

Done = Callable[[Task, Evaluated], None]


class _Batch:
    """The tasks as an engine source."""

    def __init__(self, tasks: Iterable[Task], on_done: Done) -> None:
        self.todo, self.on_done = list(tasks), on_done

    def wants_more(self) -> bool:
        return bool(self.todo)

    def propose(self) -> Task | Proposal:
        return self.todo.pop(0)

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        self.on_done(task, evaluated)

    def abandoned(self, task: Task, stop: Stop) -> None:
        self.on_done(task, Evaluated.failed(f"{stop}: stopped before it ended"))


def run_batch(tasks: Iterable[Task], executor: Executor, slots: int, on_done: Done,
              should_stop: StopCheck | None = None, timeout_s: float | None = None) -> Stop:
    """Run every task (``slots`` at a time); ``on_done(task, evaluated)`` as each ends. Unlike a search, a run of
    failures does not stop the batch: every task gets its outcome."""
    tasks = list(tasks)
    limits = EngineLimits(slots=slots, timeout_s=timeout_s, max_failed_in_a_row=len(tasks) + 1)
    return run_engine(_Batch(tasks, on_done), executor, limits, should_stop)
