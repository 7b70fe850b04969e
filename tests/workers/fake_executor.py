"""An in-process stand-in for ``RayExecutor``: the engine's ``Executor`` protocol without Ray.

Tasks run in this process when they finish (``fn(*args)``, a raise is a failed outcome), one per ``wait`` in the
order they were submitted, as ``ray.wait(num_returns=1)`` hands them back; ``hang`` keeps every task running
(``wait`` then sleeps its timeout, as a poll does). ``lose()`` takes the "cluster" away: ``healthy`` turns False
and ``submit``/``wait`` raise ``RayUnavailable``, as the Ray executor does when its raylet dies.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from workers.runtime import Evaluated, RayUnavailable, Task


class FakeExecutor:
    def __init__(self, *, cpu_seconds: float = 0.0, hang: bool = False, lose_after_submits: int | None = None,
                 lost_in_wait: bool = True) -> None:
        """``cpu_seconds``: what each finished task reports spending; ``lose_after_submits``: lose the cluster once
        that many tasks were submitted; ``lost_in_wait``: a lost cluster makes ``wait`` raise (else only the
        engine's health check notices)."""
        self.cpu_seconds, self.hang = cpu_seconds, hang
        self.lose_after_submits, self.lost_in_wait = lose_after_submits, lost_in_wait
        self.alive = True
        self.inflight: deque[Task] = deque()
        self.submitted: list[Task] = []
        self.cancelled: list[Task] = []
        self.peak = 0  # the most tasks in flight at once
        self.waits = 0

    def __len__(self) -> int:
        return len(self.inflight)

    def lose(self) -> None:
        self.alive = False

    def healthy(self) -> bool:
        return self.alive

    def submit(self, task: Task) -> None:
        if not self.alive:
            raise RayUnavailable("fake cluster lost")
        self.inflight.append(task)
        self.submitted.append(task)
        self.peak = max(self.peak, len(self.inflight))
        if self.lose_after_submits is not None and len(self.submitted) >= self.lose_after_submits:
            self.lose()

    def wait(self, timeout_s: float) -> list[tuple[Task, Evaluated]]:
        self.waits += 1
        if not self.alive and self.lost_in_wait:
            raise RayUnavailable("fake cluster lost while tasks ran")
        if not self.inflight:
            return []
        if self.hang or not self.alive:
            time.sleep(timeout_s)
            return []
        task = self.inflight.popleft()
        return [(task, self._evaluate(task))]

    def _evaluate(self, task: Task) -> Evaluated:
        try:
            measured: Any = task.fn(*task.args)
        except Exception as err:  # noqa: BLE001 - a raising evaluation is a failed outcome, as on Ray
            return Evaluated.failed(f"{type(err).__name__}: {err}")
        return Evaluated.from_measured({**measured, "cpu_seconds": self.cpu_seconds})

    def cancel_all(self) -> list[Task]:
        tasks = list(self.inflight)
        self.cancelled.extend(tasks)
        self.inflight.clear()
        return tasks
