"""Baselines beside a search: trained by the search's evaluation in its slots, kept in a study of their own (never
seen by the sampler), resumed, and judged against the front."""

from __future__ import annotations

import functools
import time
from dataclasses import replace

import optuna
import pytest
from ray import cloudpickle

from searchspace import zoo
from searchspace.counter import count
from searchspace.fit import adapt_to_space
from tests.workers import fake_eval
from tests.workers.test_driver import TINY
from workers.runtime import INTERRUPTED, Ledger, Stop, StopReason
from workers.search import (
    BaselineRecord,
    SearchConfig,
    SearchDriver,
    TrialRecord,
    baseline_study_name,
    verdict,
)
from workers.search.baselines import load_baselines

cloudpickle.register_pickle_by_value(fake_eval)
pytestmark = pytest.mark.usefixtures("ray_session")
optuna.logging.set_verbosity(optuna.logging.WARNING)
TWO = ("mobilenet_v3_small", "ghostnet_1_0")


def _trial(number: int, accuracy: float, macs: int) -> TrialRecord:
    return TrialRecord(number=number, state="COMPLETE", accuracy=accuracy, macs=macs, latency_ms=macs / 1e6)


def test_verdict_names_the_cheapest_dominating_trial() -> None:
    front = [_trial(1, 0.80, 1_000), _trial(2, 0.90, 5_000), _trial(3, 0.95, 9_000)]
    beaten = BaselineRecord(name="b", state="COMPLETE", accuracy=0.85, macs=6_000, latency_ms=0.006)
    assert verdict(beaten, front, "macs") == {"dominated": True, "dominated_by": 2}
    best = BaselineRecord(name="b", state="COMPLETE", accuracy=0.99, macs=6_000)
    assert verdict(best, front, "macs") == {"dominated": False, "dominated_by": None}
    tie = BaselineRecord(name="b", state="COMPLETE", accuracy=0.90, macs=5_000)  # equal is not dominated
    assert verdict(tie, front, "macs")["dominated"] is False
    failed = BaselineRecord(name="b", state="FAIL", error="boom")
    assert verdict(failed, front, "macs") == {"dominated": None, "dominated_by": None}
    assert verdict(beaten, front, "latency") == {"dominated": True, "dominated_by": 2}


def test_config_names_zoo_networks_only() -> None:
    from searchspace.errors import SpecError

    assert SearchConfig().baselines and all(b in zoo.names() for b in SearchConfig().baselines)
    with pytest.raises(SpecError, match=r"baselines: unknown zoo network 'resnet50'; allowed: efficientnet_b0"):
        SearchConfig.from_dict({"baselines": ["resnet50"]})
    with pytest.raises(SpecError, match="must not repeat"):
        SearchConfig(baselines=("ghostnet_1_0", "ghostnet_1_0"))
    assert SearchConfig.from_dict({"baselines": []}).baselines == ()


def test_baselines_train_beside_the_search_and_never_reach_its_study(sqlite_url: str) -> None:
    seen: list[tuple[str, str]] = []
    config = replace(TINY, n_trials=3, baselines=TWO)
    result = SearchDriver(config, sqlite_url, "with-baselines", evaluate_fn=fake_eval.fake_evaluate,
                          on_baseline=lambda b: seen.append((b.name, b.state))).run()
    assert result.stopped == Stop(StopReason.BUDGET) and len(result.trials) == 3  # the search's own budget, untouched
    assert [b.name for b in result.baselines] == list(TWO)
    shaped = config.with_data_shape(10, 1)
    for b in result.baselines:
        adapted = adapt_to_space(zoo.get(b.name), shaped.space, b.name)
        assert b.state == "COMPLETE" and b.spec_key == adapted.spec.to_string()
        assert (b.macs, b.params) == (count(adapted.spec).macs, count(adapted.spec).params)
        assert b.arch.num_classes == 10 and b.arch.in_chans == 1 and b.changes == list(adapted.changes)
        assert b.accuracy == fake_eval.fake_evaluate(adapted.spec, config)["accuracy"]
    assert sorted(seen) == sorted([(n, s) for n in TWO for s in ("RUNNING", "COMPLETE")])
    search_study = optuna.load_study(study_name="with-baselines", storage=sqlite_url)
    assert all("baseline" not in t.user_attrs["record"] for t in search_study.get_trials())
    data = result.to_dict()["baselines"]
    front = {t.number for t in result.pareto}
    for entry in data:
        assert entry["dominated"] in (True, False)
        assert entry["dominated_by"] is None or entry["dominated_by"] in front


def test_a_resumed_search_trains_only_unfinished_baselines(sqlite_url: str) -> None:
    config = replace(TINY, n_trials=1, baselines=TWO[:1])
    SearchDriver(config, sqlite_url, "resume-baselines", evaluate_fn=fake_eval.fake_evaluate).run()
    # a dead driver's baseline left running in the baselines study
    ledger = Ledger(sqlite_url, baseline_study_name("resume-baselines"), ["maximize"],
                    lambda _: optuna.samplers.RandomSampler())
    ledger.persist(ledger.ask(), {"spec_key": None})
    started: list[str] = []
    result = SearchDriver(replace(config, n_trials=2, baselines=TWO), sqlite_url, "resume-baselines",
                          evaluate_fn=fake_eval.fake_evaluate,
                          on_baseline=lambda b: started.append(b.name) if b.state == "RUNNING" else None).run()
    assert started == [TWO[1]]  # the finished one is not trained again
    assert [(b.name, b.state) for b in result.baselines] == [(n, "COMPLETE") for n in TWO]
    assert [(b.name, b.state) for b in load_baselines(sqlite_url, "resume-baselines")] == [(n, "COMPLETE") for n in TWO]


def test_an_interrupted_baseline_runs_again_on_resume(sqlite_url: str) -> None:
    slow = functools.partial(fake_eval.fake_evaluate, sleep=30.0)
    started = time.monotonic()
    config = replace(TINY, n_trials=1, n_workers=1, baselines=TWO[:1])
    first = SearchDriver(config, sqlite_url, "interrupted-baseline", evaluate_fn=slow, poll_s=0.1,
                         should_stop=lambda: StopReason.INTERRUPTED if time.monotonic() - started > 3 else None).run()
    assert [(b.state, b.error) for b in first.baselines] == [("FAIL", INTERRUPTED)] and not first.trials
    second = SearchDriver(config, sqlite_url, "interrupted-baseline", evaluate_fn=fake_eval.fake_evaluate).run()
    assert [b.state for b in second.baselines] == ["COMPLETE"] and len(second.trials) == 1


def test_no_baselines_no_study(sqlite_url: str) -> None:
    result = SearchDriver(replace(TINY, n_trials=1), sqlite_url, "no-baselines", evaluate_fn=fake_eval.fake_evaluate).run()
    assert result.baselines == [] and result.to_dict()["baselines"] == []
    assert baseline_study_name("no-baselines") not in optuna.get_all_study_names(sqlite_url)
