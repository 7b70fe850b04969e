"""Zero-cost screening: its config, the candidates it samples, the non-dominated choice, and a search warmed by it
(real Ray, real proxy scores, stand-in training)."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pytest
from ray import cloudpickle

from searchspace.errors import SpecError
from searchspace.space import PROXY_SPACE, sample
from tests.workers import fake_eval
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.screening import ScreeningConfig, non_dominated_first, sample_candidates
from workers.search import SearchConfig, SearchDriver
from workers.training import TrainBudget

cloudpickle.register_pickle_by_value(fake_eval)
optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = replace(PROXY_SPACE, resolutions=(16,), num_classes=10, in_chans=1)


def test_config_is_validated_and_round_trips_in_a_search_config() -> None:
    assert ScreeningConfig().proxy == "none"  # off unless asked for
    with pytest.raises(SpecError, match="proxy"):
        ScreeningConfig(proxy="grasp")
    with pytest.raises(SpecError, match="enqueued"):
        ScreeningConfig(candidates=4, enqueued=5)
    config = SearchConfig.from_dict({"screening": {"proxy": "naswot", "candidates": 64, "enqueued": 4}})
    assert config.screening == ScreeningConfig(proxy="naswot", candidates=64, enqueued=4)
    assert SearchConfig.from_dict(config.to_dict()) == config
    assert "screening" not in SearchConfig().to_dict()  # off: the pinned bytes (and study names) of older configs


def test_candidates_are_distinct_within_limits_seeded_and_their_params_give_their_spec() -> None:
    found = sample_candidates(SPACE, 20, seed=2, max_macs=3_000_000)
    assert len(found) == 20 and len({c.spec_key for c in found}) == 20
    assert all(c.macs <= 3_000_000 for c in found)
    assert [c.spec_key for c in sample_candidates(SPACE, 20, seed=2, max_macs=3_000_000)] == [c.spec_key for c in found]
    for c in found[:5]:  # what is enqueued rebuilds exactly the screened architecture
        assert sample(optuna.trial.FixedTrial(c.params), SPACE).to_string() == c.spec_key


def test_non_dominated_fronts_in_order_thinned_along_macs() -> None:
    scores = [5.0, 4.0, 3.0, 6.0, 1.0, float("-inf"), 2.0]
    macs = [10, 5, 1, 20, 30, 0, 4]
    # front 1: 3 (6.0@20), 0 (5.0@10), 1 (4.0@5), 6 (2.0@4)? no: 2 (3.0@1) dominates 6 (2.0@4)
    assert sorted(non_dominated_first(scores, macs, 4)) == [0, 1, 2, 3]
    assert non_dominated_first(scores, macs, 2) == [2, 3]  # the front's cheapest and its best, not its middle
    assert 5 not in non_dominated_first(scores, macs, 7)  # a non-finite score is never enqueued
    assert len(non_dominated_first(scores, macs, 7)) == 6


@pytest.mark.usefixtures("ray_session")
def test_a_screened_search_evaluates_the_enqueued_candidates_first(sqlite_url: str) -> None:
    config = SearchConfig(dataset=DatasetConfig(source="shapes", subset=0.2), budget=TrainBudget(epochs=1),
                          space=SPACE, latency=LatencyConfig(warmup=1, repeats=2, window_s=0), n_trials=4, n_workers=2,
                          sampler="random", pruner="none", seed=1, objective="macs",
                          screening=ScreeningConfig(proxy="naswot", candidates=12, enqueued=2, batch=16))
    result = SearchDriver(config, sqlite_url, "screened", evaluate_fn=fake_eval.fake_evaluate).run()
    first = sorted(result.trials, key=lambda t: t.number)
    marks = [t.screened for t in first]
    assert marks[0] is not None and marks[1] is not None
    assert all(t.screened is None for t in first[2:] if t.reused_from is None)
    assert {m["proxy"] for m in marks[:2]} == {"naswot"} and {m["rank"] for m in marks[:2]} == {0, 1}
    assert all(m["of"] == 12 and m["cpu_s_per_candidate"] > 0 for m in marks[:2])
