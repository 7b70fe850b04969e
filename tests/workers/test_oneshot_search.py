"""The one-shot strategy on real Ray: a tiny search trains its supernet (progress reported, checkpointed), judges
the sandwich's smallest sub-network first, then every proposed sub-network, with inherited weights
exactly as ``judge_subnet`` does on the checkpoint, counts the supernet's CPU time against the budget, and,
stopped while the supernet trains, resumes that training."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from searchspace.supernet import extreme_subnet
from tests.workers.test_oneshot import SPACE
from workers.data import DatasetConfig
from workers.oneshot import SupernetTraining, calibration_images, judge_subnet, load_supernet
from workers.runtime import StopReason, TrialState
from workers.search import SearchConfig, SearchDriver, supernet_checkpoint
from workers.training import TrainBudget

pytestmark = pytest.mark.usefixtures("ray_session")
SUPERNET = SupernetTraining(budget=TrainBudget(epochs=2, batch_size=64, lr=0.1, bn_calibration=128, device="cpu"),
                            checkpoint_steps=2)
CONFIG = SearchConfig(dataset=DatasetConfig(subset=0.4), space=SPACE, strategy="oneshot", supernet=SUPERNET,
                      objective="macs", sampler="nsga2", n_trials=10, n_workers=2, baselines=(), seed=3)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("oneshot")
    url, phases = f"sqlite:///{tmp / 'search.db'}", []
    result = SearchDriver(CONFIG, url, "oneshot", checkpoint_dir=tmp, on_phase=phases.append).run()
    return result, phases, tmp


def test_the_supernet_trains_first_and_reports_its_progress(searched: tuple) -> None:
    _, phases, tmp = searched
    assert [p["state"] for p in phases][-1] == "trained" and phases[0]["state"] == "training"
    last = phases[-1]
    assert last["epochs_run"] == 2 and last["step"] == last["steps"] > 0 and last["resumed_at_step"] == 0
    assert len(last["largest_accuracies"]) == 2 and last["largest_accuracies"][-1] > 0.3
    assert last["cpu_seconds"] > 0 and supernet_checkpoint(tmp, "oneshot").exists()


def test_every_trial_is_judged_with_the_weights_it_inherits(searched: tuple) -> None:
    result, _, tmp = searched
    judged = [t for t in result.trials if t.state is TrialState.COMPLETE and t.reused_from is None]
    assert len(judged) == CONFIG.n_trials and result.stopped.reason is StopReason.BUDGET
    assert all(0.0 <= t.accuracy <= 1.0 and t.macs > 0 and t.cpu_seconds > 0 and not t.epoch_accuracies
               for t in judged)
    assert result.pareto and len({t.accuracy for t in judged}) > 1
    config, net = load_supernet(supernet_checkpoint(tmp, "oneshot"))
    for trial in random.Random(0).sample(judged, 2):
        spec = ArchSpec.from_string(trial.spec_key)
        data = config.dataset.load(spec.resolution, spec.in_chans)
        calibration = calibration_images(data, SUPERNET.budget.bn_calibration, CONFIG.seed)
        assert judge_subnet(net, spec, data, calibration, 64) == pytest.approx(trial.accuracy, abs=1e-9)


def test_the_smallest_sub_network_is_judged_first(searched: tuple) -> None:
    result = searched[0]
    smallest = extreme_subnet(result.config.space, False, random.Random(CONFIG.seed)).to_string()
    first = min(result.trials, key=lambda t: t.number)
    assert first.spec_key == smallest and first.macs == min(t.macs for t in result.trials if t.macs is not None)
    assert first in result.pareto  # the cheapest sub-network is on the front whatever its accuracy


def test_the_supernet_counts_against_the_cpu_budget(searched: tuple, tmp_path: Path) -> None:
    spent = searched[1][-1]["cpu_seconds"]
    tight = replace(CONFIG, cpu_budget_s=max(1.0, spent - 0.5))  # the training alone spends it
    url = f"sqlite:///{tmp_path / 'tight.db'}"
    shutil.copy(supernet_checkpoint(searched[2], "oneshot"), supernet_checkpoint(tmp_path, "tight"))
    result = SearchDriver(tight, url, "tight", checkpoint_dir=tmp_path).run()  # trained: resumed at its end
    assert not result.trials and result.stopped.reason is StopReason.BUDGET
    assert f"{spent:.0f} of them before the trials" in str(result.stopped)


def test_a_search_stopped_while_its_supernet_trains_resumes_that_training(tmp_path: Path) -> None:
    url, phases = f"sqlite:///{tmp_path / 'search.db'}", []
    config = replace(CONFIG, n_trials=2, supernet=replace(SUPERNET, budget=replace(SUPERNET.budget, epochs=3)))

    def stop_at_the_first_checkpoint() -> StopReason | None:  # written after step 2 (checkpoint_steps)
        return StopReason.INTERRUPTED if supernet_checkpoint(tmp_path, "resume").exists() else None

    stopped = SearchDriver(config, url, "resume", checkpoint_dir=tmp_path, on_phase=phases.append,
                           should_stop=stop_at_the_first_checkpoint, poll_s=0.05).run()
    assert stopped.stopped.reason is StopReason.INTERRUPTED and not stopped.trials
    assert phases[-1]["state"] == "stopped" and 2 <= phases[-1]["step"] < phases[-1]["steps"]
    again: list[dict] = []
    result = SearchDriver(config, url, "resume", checkpoint_dir=tmp_path, on_phase=again.append).run()
    assert again[-1]["state"] == "trained" and again[-1]["resumed_at_step"] == phases[-1]["step"]
    assert again[-1]["step"] == again[-1]["steps"]
    assert sum(t.state is TrialState.COMPLETE for t in result.trials) == 2


def test_config_names_the_strategy_and_keeps_old_configs_bytes() -> None:
    assert "strategy" not in SearchConfig().to_dict() and "supernet" not in SearchConfig().to_dict()
    assert SearchConfig.from_dict(CONFIG.to_dict()) == CONFIG
    for bad, field in (({"strategy": "oneshoot"}, "strategy"), ({"supernet": {"random_subnets": -1}},
                                                                  "supernet.random_subnets"),
                       ({"supernet": {"budget": {"lr": 0}}}, "supernet.budget.lr"), ({"supernet": 3}, "supernet")):
        with pytest.raises(SpecError) as err:
            SearchConfig.from_dict(bad)
        assert err.value.field == field
