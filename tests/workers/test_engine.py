"""The job engine's loop, and the search driver on it, with an in-process executor (no Ray): slots, stops, the
time and CPU budgets, cancel, a lost cluster and the restart."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workers import fake_eval
from tests.workers.fake_executor import FakeExecutor
from workers.data import DatasetConfig
from workers.runtime import (
    INTERRUPTED,
    EngineLimits,
    Evaluated,
    Outcome,
    Proposal,
    RayUnavailable,
    Stop,
    StopReason,
    Task,
    run_engine,
    with_restarts,
)
from workers.search import SearchConfig, SearchDriver
from workers.search import driver as driver_module
from workers.training import TrainBudget


def _measure(accuracy: float = 0.5) -> dict[str, Any]:
    return {"accuracy": accuracy}


def _raise() -> dict[str, Any]:
    raise RuntimeError("boom")


def _tasks(n: int, fn: Any = _measure) -> list[Task]:
    return [Task(fn, (), i) for i in range(n)]


class ListSource:
    """Proposes a fixed list; records what the engine hands back."""

    def __init__(self, proposals: list[Task | Proposal]) -> None:
        self.todo: deque[Task | Proposal] = deque(proposals)
        self.finished_: list[tuple[Task, Evaluated]] = []
        self.abandoned_: list[tuple[Task, Stop]] = []
        self.inflight_seen: list[int] = []  # in flight when each evaluation finished

    def wants_more(self) -> bool:
        return bool(self.todo)

    def propose(self) -> Task | Proposal:
        return self.todo.popleft()

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        self.finished_.append((task, evaluated))

    def abandoned(self, task: Task, stop: Stop) -> None:
        self.abandoned_.append((task, stop))


def _limits(slots: int, **kw: Any) -> EngineLimits:
    return EngineLimits(slots=slots, poll_s=0.005, **kw)


def test_slots_are_kept_full_and_every_task_finishes_once() -> None:
    source, executor = ListSource(_tasks(10)), FakeExecutor()
    seen: list[int] = []
    finished = source.finished
    source.finished = lambda task, ev: (seen.append(len(executor)), finished(task, ev))  # type: ignore[method-assign]
    stop = run_engine(source, executor, _limits(3))
    assert stop == Stop(StopReason.BUDGET)
    assert executor.peak == 3 and [t.item for t, _ in source.finished_] == list(range(10))
    assert seen == [2] * 8 + [1, 0]  # refilled to 3 before each wait while proposals remain
    assert source.abandoned_ == [] and executor.cancelled == []


@settings(max_examples=60, deadline=None)
@given(slots=st.integers(1, 5), kinds=st.lists(st.sampled_from(["task", "rejected", "reused", "invalid"]),
                                              max_size=25))
def test_every_submitted_task_is_finished_exactly_once_and_slots_never_overflow(slots: int, kinds: list[str]) -> None:
    proposals: list[Task | Proposal] = []
    for i, kind in enumerate(kinds):
        proposals.append(Task(_measure, (), i) if kind == "task" else Proposal[kind.upper()])
    source, executor = ListSource(proposals), FakeExecutor()
    stop = run_engine(source, executor, _limits(slots))
    assert stop.reason is StopReason.BUDGET
    assert executor.peak <= slots
    assert sorted(t.item for t, _ in source.finished_) == [t.item for t in executor.submitted]
    assert len(executor.submitted) == kinds.count("task") and source.abandoned_ == []


@pytest.mark.parametrize("reason", [StopReason.CANCELLED, StopReason.INTERRUPTED])
def test_a_stop_check_hands_the_running_tasks_back(reason: StopReason) -> None:
    source, executor = ListSource(_tasks(10)), FakeExecutor()
    stop = run_engine(source, executor, _limits(3), lambda: reason if executor.waits >= 2 else None)
    assert stop == Stop(reason)
    assert [t.item for t, _ in source.finished_] == [0, 1]
    assert [t.item for t, _ in source.abandoned_] == [2, 3] and executor.cancelled == executor.submitted[2:]
    assert all(s == stop for _, s in source.abandoned_) and len(executor) == 0


def test_the_time_budget_stops_running_tasks_and_says_so() -> None:
    source, executor = ListSource(_tasks(4)), FakeExecutor(hang=True)
    stop = run_engine(source, executor, _limits(2, timeout_s=0.05))
    assert stop.reason is StopReason.TIMEOUT and "0.05 s" in stop.detail
    assert source.finished_ == [] and [t.item for t, _ in source.abandoned_] == [0, 1]


def test_the_cpu_budget_is_the_sources_want_more_and_ends_as_budget() -> None:
    class Budgeted(ListSource):
        spent = 0.0

        def wants_more(self) -> bool:
            return self.spent < 25 and super().wants_more()

        def finished(self, task: Task, evaluated: Evaluated) -> None:
            super().finished(task, evaluated)
            self.spent += evaluated.measured["cpu_seconds"]

    source, executor = Budgeted(_tasks(10)), FakeExecutor(cpu_seconds=10.0)
    assert run_engine(source, executor, _limits(1)) == Stop(StopReason.BUDGET)
    assert len(source.finished_) == 3 and source.spent == 30.0


def test_rejections_failures_and_duplicates_in_a_row_stop_the_job() -> None:
    source = ListSource([Proposal.REJECTED] * 5 + _tasks(1))
    assert run_engine(source, FakeExecutor(), _limits(2, max_rejected_in_a_row=5)).reason is StopReason.LIMITS

    source = ListSource(_tasks(6, _raise))
    stop = run_engine(source, FakeExecutor(), _limits(1, max_failed_in_a_row=3))
    assert stop.reason is StopReason.FAILING and len(source.finished_) == 3
    assert all(ev.outcome is Outcome.FAIL and "boom" in (ev.error or "") for _, ev in source.finished_)

    source = ListSource([Proposal.REUSED, Proposal.DUPLICATE] * 3 + _tasks(1))
    assert run_engine(source, FakeExecutor(), _limits(2, max_duplicates_in_a_row=4)).reason is StopReason.EXHAUSTED


def test_duplicates_wait_for_a_running_evaluation_instead_of_flooding() -> None:
    source, executor = ListSource(_tasks(2) + [Proposal.DUPLICATE] * 6 + _tasks(1)), FakeExecutor()
    asked: list[int] = []
    propose = source.propose
    source.propose = lambda: (asked.append(executor.waits), propose())[1]  # type: ignore[method-assign]
    assert run_engine(source, executor, _limits(4, duplicates_per_wait=3)) == Stop(StopReason.BUDGET)
    assert asked == [0, 0, 0, 0, 0, 1, 1, 1, 2]  # three duplicates, then a wait for a running one


@pytest.mark.parametrize("lost_in_wait", [True, False])
def test_a_lost_cluster_interrupts_the_running_tasks_and_raises(lost_in_wait: bool) -> None:
    source = ListSource(_tasks(6))
    executor = FakeExecutor(lose_after_submits=3, lost_in_wait=lost_in_wait)
    with pytest.raises(RayUnavailable):  # noticed by wait, or by the health check while tasks hang
        run_engine(source, executor, _limits(3, health_every_s=0.0))
    assert source.finished_ == [] and [t.item for t, _ in source.abandoned_] == [0, 1, 2]
    assert {s.reason for _, s in source.abandoned_} == {StopReason.INTERRUPTED}  # resumed, not failed for good


def test_with_restarts_restarts_and_runs_again_until_it_gives_up() -> None:
    restarts: list[int] = []
    outcomes: deque[Stop | Exception] = deque([RayUnavailable("gone"), RayUnavailable("gone"), Stop(StopReason.BUDGET)])

    def attempt() -> Stop:
        outcome = outcomes.popleft()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_restarts(attempt, lambda: restarts.append(1)) == Stop(StopReason.BUDGET) and len(restarts) == 2

    def always_lost() -> Stop:
        raise RayUnavailable("still gone")

    restarts.clear()
    with pytest.raises(RayUnavailable, match="still gone"):
        with_restarts(always_lost, lambda: restarts.append(1), restarts=2)
    assert len(restarts) == 2


# --- the search driver on the in-process executor ------------------------------------------------------------

OFFLINE = SearchConfig(
    dataset=DatasetConfig(subset=0.3),
    budget=TrainBudget(epochs=1, batch_size=32),
    n_trials=100,
    n_workers=2,
    sampler="random",
    pruner="none",
    seed=3,
    baselines=(),
)


def _trained(result: Any) -> list[Any]:
    return [t for t in result.trials if t.state in ("COMPLETE", "PRUNED") and not t.rejected]


def test_the_search_stops_on_its_cpu_budget(tmp_path: Path) -> None:
    config = replace(OFFLINE, cpu_budget_s=25.0)
    driver = SearchDriver(config, f"sqlite:///{tmp_path / 's.db'}", "cpu", evaluate_fn=fake_eval.fake_evaluate,
                          poll_s=0.005, make_executor=lambda _: FakeExecutor(cpu_seconds=10.0))
    result = driver.run()
    # two slots, refilled after each result: the third result crosses 25 s, the one still running finishes
    assert str(result.stopped) == "budget: 40 CPU-seconds spent of the 25 s budget"
    assert len(_trained(result)) == 4 and all(t.cpu_seconds == 10.0 for t in _trained(result))


def test_a_lost_cluster_is_restarted_and_the_search_resumes_to_its_budget(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    restarts: list[int] = []
    monkeypatch.setattr(driver_module, "restart_ray", lambda: restarts.append(1))
    executors = [FakeExecutor(lose_after_submits=3), FakeExecutor()]  # one finished, two running when lost
    config = replace(OFFLINE, n_trials=6)
    result = SearchDriver(config, f"sqlite:///{tmp_path / 's.db'}", "lost", evaluate_fn=fake_eval.fake_evaluate,
                          poll_s=0.005, make_executor=lambda _: executors.pop(0)).run()
    assert restarts == [1] and executors == []
    assert str(result.stopped) == "budget" and len(_trained(result)) == 6
    interrupted = [t for t in result.trials if t.state == "FAIL"]
    assert len(interrupted) == 2 and all(t.error == INTERRUPTED for t in interrupted)
    retried = {t.spec_key for t in _trained(result)}
    assert {t.spec_key for t in interrupted} <= retried  # re-queued on resume, evaluated after the restart
