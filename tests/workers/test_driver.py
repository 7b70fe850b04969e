"""The search driver with real Ray and real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from ray import cloudpickle

import searchspace as ss
from tests.workers import fake_eval
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.runtime import INTERRUPTED, Stop, StopReason
from workers.search import SearchConfig, SearchDriver
from workers.search import load_result
from workers.training import TrainBudget

cloudpickle.register_pickle_by_value(fake_eval)
pytestmark = pytest.mark.usefixtures("ray_session")
optuna.logging.set_verbosity(optuna.logging.WARNING)

TINY = SearchConfig(
    dataset=DatasetConfig(subset=0.3),
    budget=TrainBudget(epochs=1, batch_size=32),
    latency=LatencyConfig(warmup=2, repeats=5, window_s=0),
    n_trials=6,
    n_workers=2,
    sampler="random",
    pruner="none",
    seed=3,
    baselines=(),  # tests/workers/test_baselines.py runs them
)


def _trained(result) -> list:
    return [t for t in result.trials if t.state in ("COMPLETE", "PRUNED") and not t.rejected]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_search_end_to_end(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    result = SearchDriver(TINY, url, f"e2e-{backend}").run()
    trained = _trained(result)
    assert len(trained) == 6
    assert result.stopped == Stop(StopReason.BUDGET)
    for t in trained:
        spec = ss.ArchSpec.from_dict(t.spec)
        assert spec.num_classes == 10 and spec.in_chans == 1
        assert (t.params, t.macs) == (ss.count(spec).params, ss.count(spec).macs)
        assert 0.0 <= t.accuracy <= 1.0 and t.latency_ms > 0 and t.latency_p90_ms >= t.latency_ms
        assert t.device["torch"] and t.device["cpu"] and len(t.epoch_accuracies) == 1
    assert result.pareto and result.best in trained
    again = load_result(url, f"e2e-{backend}", TINY)
    assert [t.number for t in again.pareto] == [t.number for t in result.pareto]


def test_same_seed_same_architectures(sqlite_url: str) -> None:
    config = replace(TINY, n_workers=1, n_trials=5)
    keys = []
    for name in ("seed-a", "seed-b"):
        result = SearchDriver(config, sqlite_url, name, evaluate_fn=fake_eval.fake_evaluate).run()
        keys.append([t.spec_key for t in result.trials])
    assert keys[0] == keys[1] and len(set(keys[0])) > 1


def test_trial_that_kills_its_worker_is_failed_and_search_goes_on(sqlite_url: str, tmp_path: Path) -> None:
    crash = functools.partial(fake_eval.crash_once_evaluate, marker=str(tmp_path / "crashed"))
    result = SearchDriver(replace(TINY, n_trials=4), sqlite_url, "crash", evaluate_fn=crash).run()
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert len(failed) == 1 and "worker died" in failed[0].error
    assert len(_trained(result)) == 4


def test_raising_evaluation_is_recorded(sqlite_url: str) -> None:
    config = replace(TINY, n_trials=2, timeout_s=60.0)
    calls = {"n": 0}

    def cancel() -> StopReason | None:
        calls["n"] += 1
        return StopReason.CANCELLED if calls["n"] > 20 else None

    result = SearchDriver(config, sqlite_url, "raising", evaluate_fn=fake_eval.raising_evaluate,
                          should_stop=cancel, poll_s=0.05).run()
    assert result.trials and all(t.state == "FAIL" for t in result.trials)
    assert "RuntimeError: boom" in result.trials[0].error


def test_limits_reject_before_training(sqlite_url: str) -> None:
    config = replace(TINY, n_trials=3, max_macs=3_000_000)
    result = SearchDriver(config, sqlite_url, "limits", evaluate_fn=fake_eval.fake_evaluate).run()
    rejected = [t for t in result.trials if t.rejected]
    assert all(t.state == "PRUNED" and t.macs > 3_000_000 for t in rejected)
    assert all(t.macs <= 3_000_000 for t in _trained(result)) and len(_trained(result)) == 3


@pytest.mark.parametrize("mode", ["reward", "constraint"])
def test_scalarised_modes(sqlite_url: str, mode: str) -> None:
    config = replace(TINY, mode=mode, target=6.0, n_trials=6, n_workers=1, sampler="tpe")
    result = SearchDriver(config, sqlite_url, f"mode-{mode}", evaluate_fn=fake_eval.fake_evaluate).run()
    trained = _trained(result)
    if mode == "reward":
        assert all(t.reward == pytest.approx(t.accuracy * (t.latency_ms / 6.0) ** -0.07) for t in trained)
        assert result.best.reward == max(t.reward for t in trained)
    else:
        feasible = [t for t in trained if t.latency_ms <= 6.0]
        assert (result.best is None) if not feasible else result.best.accuracy == max(t.accuracy for t in feasible)


def test_cancellation_stops_and_fails_running_trials(sqlite_url: str) -> None:
    slow = functools.partial(fake_eval.fake_evaluate, sleep=30.0)
    started = time.monotonic()
    result = SearchDriver(replace(TINY, n_trials=4), sqlite_url, "cancel", evaluate_fn=slow,
                          should_stop=_after(started, 3, StopReason.CANCELLED), poll_s=0.1).run()
    assert result.stopped == Stop(StopReason.CANCELLED) and time.monotonic() - started < 25
    assert [t.state for t in result.trials] == ["FAIL", "FAIL"]
    assert all("cancelled" in t.error for t in result.trials)


def _after(started: float, seconds: float, reason: StopReason):
    return lambda: reason if time.monotonic() - started > seconds else None


def test_an_interrupted_search_requeues_its_running_trials_and_resumes(sqlite_url: str) -> None:
    """A driver stopping (SIGTERM) fails in-flight trials as interrupted; the next run re-proposes them first."""
    slow = functools.partial(fake_eval.fake_evaluate, sleep=30.0)
    started = time.monotonic()
    config = replace(TINY, n_trials=3)
    first = SearchDriver(config, sqlite_url, "interrupt", evaluate_fn=slow,
                         should_stop=_after(started, 3, StopReason.INTERRUPTED), poll_s=0.1).run()
    assert first.stopped == Stop(StopReason.INTERRUPTED) and [t.state for t in first.trials] == ["FAIL", "FAIL"]
    assert all(t.error == INTERRUPTED for t in first.trials)
    second = SearchDriver(config, sqlite_url, "interrupt", evaluate_fn=fake_eval.fake_evaluate).run()
    assert second.stopped == Stop(StopReason.BUDGET) and len(_trained(second)) == 3
    interrupted = {t.spec_key for t in first.trials}
    assert interrupted <= {t.spec_key for t in _trained(second)}


RESUME_SCRIPT = """
import functools, sys, tests.workers.fake_eval as fe
from ray import cloudpickle
from dataclasses import replace
from tests.workers.test_driver import TINY
from workers.search import SearchDriver
cloudpickle.register_pickle_by_value(fe)
SearchDriver(replace(TINY, n_trials=6), sys.argv[1], "resume",
             evaluate_fn=functools.partial(fe.fake_evaluate, sleep=1.5)).run()
"""


def test_interrupted_driver_resumes_to_exact_budget(sqlite_url: str) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", RESUME_SCRIPT, sqlite_url], cwd=root,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    storage = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            study = optuna.load_study(study_name="resume", storage=sqlite_url)
        except KeyError:
            continue
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if states.count(optuna.trial.TrialState.COMPLETE) >= 2 and optuna.trial.TrialState.RUNNING in states:
            storage = study
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert storage is not None, "the driver never got going"
    before = {t.number: t.values for t in storage.get_trials(deepcopy=False)
              if t.state == optuna.trial.TrialState.COMPLETE}
    result = SearchDriver(replace(TINY, n_trials=6), sqlite_url, "resume",
                          evaluate_fn=fake_eval.fake_evaluate).run()
    assert len(_trained(result)) == 6
    after = {t.number: t for t in result.trials}
    for number in before:
        assert after[number].state == "COMPLETE"
    stale = [t for t in result.trials if t.error and "interrupted" in t.error]
    assert stale, "the trials the killed driver left running are failed"
    evaluated = [t.spec_key for t in _trained(result) if t.reused_from is None]
    assert len(evaluated) == len(set(evaluated))


def _raylet_pid() -> int:
    import ray

    return ray._private.worker._global_node.all_processes["raylet"][0].process.pid


def test_a_killed_raylet_is_restarted_and_the_search_completes(sqlite_url: str) -> None:
    """Ray dying under a search is not the candidates' fault: Ray restarts and the study resumes."""
    from workers.runtime.cluster import ray_owner

    starts = ray_owner().starts
    victim = _raylet_pid()
    done: list[int] = []

    def on_trial(record) -> None:
        done.append(record.number)
        if len(done) == 1:
            os.kill(victim, signal.SIGKILL)

    slow = functools.partial(fake_eval.fake_evaluate, sleep=1.0)
    result = SearchDriver(replace(TINY, n_trials=5), sqlite_url, "raylet", evaluate_fn=slow, on_trial=on_trial,
                          poll_s=0.1).run()
    assert ray_owner().starts == starts + 1 and _raylet_pid() != victim
    assert result.stopped == Stop(StopReason.BUDGET) and len(_trained(result)) == 5
    assert not [t for t in result.trials if t.state == "FAIL" and t.error != INTERRUPTED]


def _alive_referees() -> int:
    import ray

    return sum(1 for a in ray._private.state.actors().values()
               if a["State"] == "ALIVE" and a["ActorClassName"].endswith("MedianReferee"))


def test_a_dead_referee_fails_no_trial_and_leaves_no_actor_behind(sqlite_url: str) -> None:
    """The median rule's actor is restarted by Ray and resynced by the driver; a worker never fails for it."""
    import ray

    killed: list[int] = []

    def on_trial(record) -> None:
        if not killed:
            [actor] = [a for a in ray._private.state.actors().values()
                       if a["State"] == "ALIVE" and a["ActorClassName"].endswith("MedianReferee")]
            killed.append(actor["Pid"])
            os.kill(actor["Pid"], signal.SIGKILL)

    slow = functools.partial(fake_eval.refereed_evaluate, sleep=1.0)
    config = replace(TINY, n_trials=6, pruner="median", pruner_min_trials=1, pruner_warmup_epochs=0)
    result = SearchDriver(config, sqlite_url, "referee", evaluate_fn=slow, on_trial=on_trial, poll_s=0.1).run()
    assert killed and result.stopped == Stop(StopReason.BUDGET) and len(_trained(result)) == 6
    assert not [t for t in result.trials if t.state == "FAIL"]
    assert any(t.state == "PRUNED" for t in result.trials)  # the rule still ran after its actor died
    assert _alive_referees() == 0


def test_a_time_budget_stops_running_trials_and_says_so(sqlite_url: str) -> None:
    slow = functools.partial(fake_eval.fake_evaluate, sleep=30.0)
    started = time.monotonic()
    result = SearchDriver(replace(TINY, n_trials=4, timeout_s=2.0), sqlite_url, "timeout", evaluate_fn=slow,
                          poll_s=0.1).run()
    assert str(result.stopped).startswith("timeout: the time budget of 2 s ran out") and time.monotonic() - started < 25
    assert result.trials and all(t.state == "FAIL" and t.stopped is StopReason.TIMEOUT for t in result.trials)
    assert all("time budget" in t.error for t in result.trials)


def test_trials_failed_by_recovery_are_reported_before_any_evaluation(sqlite_url: str) -> None:
    """A resumed search tells its observer (the service's mirror) about the trials it failed at once."""
    from searchspace.space import sample
    from workers.runtime import Ledger

    ledger = Ledger(sqlite_url, "recovered", ["maximize", "minimize"], lambda _: optuna.samplers.RandomSampler(seed=1))
    trial = ledger.ask()
    sample(trial, TINY.space)
    ledger.persist(trial, {"spec_key": "left-running"})  # a dead driver's trial
    seen: list[tuple[int, str, str | None]] = []
    SearchDriver(replace(TINY, n_trials=1, n_workers=1), sqlite_url, "recovered", evaluate_fn=fake_eval.fake_evaluate,
                 on_trial=lambda r: seen.append((r.number, r.state, r.error))).run()
    assert seen[0] == (0, "FAIL", INTERRUPTED)
    assert [state for _, state, _ in seen[1:]] == ["COMPLETE"]


def _tiny_space(kernels: tuple[int, ...]) -> ss.SearchSpace:
    """A space of ``len(kernels)`` architectures: only the first stage's kernel varies."""
    one = {"kinds": ("mbconv",), "expansions": (3.0,), "se_ratios": (0.0,), "acts": ("relu",),
           "repeat_deltas": (0,), "width_factors": (1.0,)}
    stages = tuple(replace(s, **one, kernels=kernels if i == 0 else (3,)) for i, s in enumerate(TINY.space.stages))
    return replace(TINY.space, stages=stages, resolutions=(16,))


def test_duplicates_spend_no_budget(sqlite_url: str) -> None:
    config = replace(TINY, space=_tiny_space((3, 5, 7)), n_trials=3, n_workers=1)
    result = SearchDriver(config, sqlite_url, "dups", evaluate_fn=fake_eval.fake_evaluate).run()
    evaluated = [t for t in _trained(result) if t.reused_from is None]
    assert result.stopped == Stop(StopReason.BUDGET) and len({t.spec_key for t in evaluated}) == len(evaluated) == 3
    assert all(t.cpu_seconds is not None for t in evaluated)
    assert all(t.cpu_seconds is None for t in result.trials if t.reused_from is not None)


def test_an_exhausted_space_stops_with_its_reason(sqlite_url: str) -> None:
    config = replace(TINY, space=_tiny_space((3, 5)), n_trials=10, n_workers=1)
    result = SearchDriver(config, sqlite_url, "exhausted", evaluate_fn=fake_eval.fake_evaluate).run()
    assert str(result.stopped).startswith("exhausted: the last 200 proposals")
    assert len([t for t in _trained(result) if t.reused_from is None]) == 2


def test_duplicates_of_a_running_evaluation_wait_for_it_instead_of_flooding_the_study(sqlite_url: str) -> None:
    slow = functools.partial(fake_eval.fake_evaluate, sleep=3.0)
    config = replace(TINY, space=_tiny_space((3,)), n_trials=2, n_workers=2)  # one architecture, a free slot
    result = SearchDriver(config, sqlite_url, "flood", evaluate_fn=slow, poll_s=0.05).run()
    [evaluated] = [t for t in result.trials if t.reused_from is None]
    while_running = [t for t in result.trials if t.reused_from is not None and t.started_at < evaluated.finished_at]
    assert 1 <= len(while_running) <= 3, len(while_running)  # a few, then it waits (not one per 0.05 s poll)
    assert str(result.stopped).startswith("exhausted")


def test_a_cpu_budget_stops_the_search(sqlite_url: str) -> None:
    busy = functools.partial(fake_eval.busy_evaluate, cpu_s=0.4)
    config = replace(TINY, n_trials=100, n_workers=2, cpu_budget_s=2.0)
    result = SearchDriver(config, sqlite_url, "cpu", evaluate_fn=busy).run()
    spent = sum(t.cpu_seconds for t in _trained(result))
    assert str(result.stopped).startswith("budget: ") and "CPU-seconds spent of the 2 s budget" in str(result.stopped)
    assert 2.0 <= spent < 2.0 + 2 * 0.4 + 0.5 and all(t.cpu_seconds >= 0.4 for t in _trained(result))
    assert 5 <= len(_trained(result)) <= 7


def _alive(name: str) -> int:
    import ray

    return sum(1 for a in ray._private.state.actors().values()
               if a["State"] == "ALIVE" and a["ActorClassName"].endswith(name))


def test_asha_stops_trials_at_a_rung_and_records_it(sqlite_url: str) -> None:
    config = replace(TINY, n_trials=12, n_workers=2, pruner="asha", budget=TrainBudget(epochs=3), mode="pareto",
                     objective="macs")
    result = SearchDriver(config, sqlite_url, "asha", evaluate_fn=fake_eval.rung_evaluate).run()
    trained = [t for t in _trained(result) if t.reused_from is None]
    stopped = [t for t in trained if t.state == "PRUNED"]
    full = [t for t in trained if t.state == "COMPLETE"]
    assert result.stopped == Stop(StopReason.BUDGET) and stopped and full
    assert all(t.fidelity == 1 and t.rung == 0 and len(t.epoch_accuracies) == 1 for t in stopped)
    assert all(t.fidelity == 3 and t.rung == 1 for t in full)
    assert all(t.fidelity == 3 for t in result.pareto)
    assert result.stopped_early == {1: len(stopped)}
    for s in stopped:  # a stopped trial keeps its measurements
        assert s.accuracy is not None and s.macs is not None
    assert _alive("RungReferee") == 0


def test_a_dead_rung_referee_is_rebuilt_from_the_records_and_a_resumed_search_keeps_its_rungs(
        sqlite_url: str) -> None:
    """Ray restarts the MO-ASHA actor; the driver resends every finished trial's decisions (Rungs.rebuild), and a
    resumed search rebuilds them from the stored records."""
    import ray

    killed: list[int] = []

    def on_trial(record) -> None:
        if not killed:
            [actor] = [a for a in ray._private.state.actors().values()
                       if a["State"] == "ALIVE" and a["ActorClassName"].endswith("RungReferee")]
            killed.append(actor["Pid"])
            os.kill(actor["Pid"], signal.SIGKILL)

    config = replace(TINY, n_trials=8, pruner="asha", budget=TrainBudget(epochs=3), objective="macs")
    first = SearchDriver(config, sqlite_url, "rungs", evaluate_fn=fake_eval.rung_evaluate, on_trial=on_trial,
                         poll_s=0.1).run()
    assert killed and first.stopped == Stop(StopReason.BUDGET) and not [t for t in first.trials if t.state == "FAIL"]
    assert any(t.state == "PRUNED" and t.rung == 0 for t in first.trials)
    more = SearchDriver(replace(config, n_trials=12), sqlite_url, "rungs", evaluate_fn=fake_eval.rung_evaluate).run()
    assert len([t for t in _trained(more) if t.reused_from is None]) == 12
    assert {t.number: (t.state, t.fidelity) for t in first.trials} == {
        t.number: (t.state, t.fidelity) for t in more.trials if t.number in {f.number for f in first.trials}}
    assert _alive("RungReferee") == 0
