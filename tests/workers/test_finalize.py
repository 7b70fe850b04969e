"""Finalize: a tiny real search (digits at 12 px, 1 epoch), its top trials and its baseline trained at full
fidelity on Ray, the report (curves, products, proxy truth equal to scipy's on the report's own accuracies), and
a finalize killed with SIGKILL that resumes without training a finished network again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from scipy import stats

from searchspace.errors import SpecError
from searchspace.space import PROXY_SPACE
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.search import FinalizeConfig, FinalizeMismatch, SearchConfig, SearchDriver, choose, finalize
from workers.search.driver import load_result
from workers.training import TrainBudget, TrainRecipe

ROOT = Path(__file__).resolve().parents[2]
SEARCH = SearchConfig(
    dataset=DatasetConfig(subset=0.3),
    space=replace(PROXY_SPACE, resolutions=(12,)),
    budget=TrainBudget(epochs=1, batch_size=32),
    latency=LatencyConfig(warmup=2, repeats=5, window_s=0),
    objective="macs",
    n_trials=3,
    n_workers=2,
    sampler="random",
    pruner="none",
    seed=5,
    baselines=("mobilenet_v2",),
)
RECIPE = TrainRecipe(epochs=2, resolution=12, batch_size=64, bn_calibration=128)
CONFIG = FinalizeConfig(top_k=2, recipe=RECIPE, subset=0.3, workers=2)


@pytest.fixture(scope="module")
def search(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A finished tiny search with one baseline: (storage URL, study name)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('finalize') / 'search.db'}"
    SearchDriver(SEARCH, url, "tiny").run()
    return url, "tiny"


def test_config_validates_and_round_trips() -> None:
    assert FinalizeConfig.from_dict(json.loads(json.dumps(CONFIG.to_dict()))) == CONFIG
    for bad, path in (({"top_k": 0}, "top_k"), ({"recipe": {"epochs": 0}}, "recipe.epochs"),
                      ({"subset": 0.0}, "subset"), ({"workers": 0}, "workers"), ({"top": 3}, "unknown field")):
        with pytest.raises(SpecError, match=path):
            FinalizeConfig.from_dict(bad)


def test_finalize_trains_the_top_trials_and_the_baseline(search: tuple[str, str], tmp_path: Path) -> None:
    url, study = search
    result = load_result(url, study, SEARCH.with_data_shape(10, 1))
    chosen = choose(result, 2)
    assert len(chosen) == 2 and chosen[0].spec_key in {t.spec_key for t in result.pareto}
    report = finalize(url, study, CONFIG, tmp_path)
    names = [n.candidate.name for n in report.networks]
    assert names == [c.name for c in chosen] + ["baseline-mobilenet_v2"]
    data = json.loads((tmp_path / "report.json").read_text())
    assert data == json.loads(json.dumps(report.to_dict()))
    for network in data["networks"]:
        assert network["error"] is None, network["error"]
        assert 0.0 <= network["test_accuracy"] <= 1.0 and network["test_size"] > 0
        assert [e["epoch"] for e in network["epochs"]] == [0, 1]
        assert network["resolution"] == 12 and network["trained_macs"] > 0 and network["cpu_seconds"] > 0
        assert network["proxy_accuracy"] is not None and network["macs"] > 0
        product = Path(network["directory"])
        assert json.loads((product / "report.json").read_text())["test_accuracy"] == network["test_accuracy"]
        assert (product / "weights.safetensors").exists() and (product / "model.py").exists()
        assert 0.0 <= network["int8_test_accuracy"] <= 1.0 and (product / "model.int8.onnx").exists()
    # the proxy truth is scipy's on the report's own accuracies
    proxy = [n["proxy_accuracy"] for n in data["networks"]]
    full = [n["test_accuracy"] for n in data["networks"]]
    truth = data["proxy_truth"]
    agreement = truth["agreement"]
    assert agreement["n"] == 3
    if len(set(proxy)) > 1 and len(set(full)) > 1:
        assert agreement["spearman"] == pytest.approx(stats.spearmanr(proxy, full).statistic)
        assert agreement["kendall"] == pytest.approx(stats.kendalltau(proxy, full).statistic)
        assert "3 architectures are too few" in truth["agreement_sentence"]
    # the baseline against the trials' fully trained front at equal MACs
    trials = [n for n in data["networks"] if n["kind"] == "trial"]
    baseline = data["networks"][-1]
    beaten = any(t["test_accuracy"] >= baseline["test_accuracy"] and t["macs"] <= baseline["macs"]
                 and (t["test_accuracy"] > baseline["test_accuracy"] or t["macs"] < baseline["macs"]) for t in trials)
    [verdict] = truth["baselines"]
    assert verdict["name"] == "baseline-mobilenet_v2" and verdict["dominated"] is beaten
    assert f"dominates {int(beaten)} of 1 baselines at equal MACs" in truth["dominance_sentence"]
    # rerun: nothing trains again; another config in the same directory is refused
    again = finalize(url, study, CONFIG, tmp_path)
    assert [n.test_accuracy for n in again.networks] == [n.test_accuracy for n in report.networks]
    with pytest.raises(FinalizeMismatch, match="another config"):
        finalize(url, study, replace(CONFIG, top_k=1), tmp_path)


def test_a_killed_finalize_resumes_without_retraining(search: tuple[str, str], tmp_path: Path) -> None:
    url, study = search
    out = tmp_path / "out"
    command = [sys.executable, "-m", "workers", "finalize", "--storage", url, "--study", study, "--top-k", "2",
               "--epochs", "3", "--resolution", "12", "--batch-size", "64", "--bn-calibration", "128",
               "--subset", "0.3", "--workers", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "networks"
    deadline = time.monotonic() + 300
    try:
        while not list(first.glob("*/result.json")):
            assert child.poll() is None and time.monotonic() < deadline, "the finalize ended before a network did"
            time.sleep(0.2)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    [done] = list(first.glob("*/result.json"))
    before = (done.read_text(), done.stat().st_mtime_ns, (done.parent / "weights.safetensors").stat().st_mtime_ns)
    rerun = subprocess.run([*command, "--json"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)
    assert len(report["networks"]) == 3 and all(n["error"] is None for n in report["networks"])
    after = (done.read_text(), done.stat().st_mtime_ns, (done.parent / "weights.safetensors").stat().st_mtime_ns)
    assert after == before  # the finished network was not trained again
    again = {n["name"]: n for n in report["networks"]}[done.parent.name]
    assert again["test_accuracy"] == json.loads(before[0])["accuracy"]


def test_report_judges_baselines_against_the_fully_trained_front_only() -> None:
    from workers.search import Candidate, NetworkKind, NetworkResult
    from workers.search.finalize_report import build_report

    def network(name: str, kind: NetworkKind, proxy: float, macs: int, test: float | None) -> NetworkResult:
        candidate = Candidate(name=name, kind=kind, trial=None, spec_key="-", proxy_accuracy=proxy,
                              latency_ms=None, latency_source=None, macs=macs, params=1)
        if test is None:
            return NetworkResult(candidate=candidate, error="worker died")
        return NetworkResult(candidate=candidate, test_accuracy=test)

    trial, baseline = NetworkKind.TRIAL, NetworkKind.BASELINE
    networks = [network("trial-1", trial, 0.5, 100, 0.80), network("trial-2", trial, 0.6, 200, 0.70),
                network("trial-3", trial, 0.7, 300, 0.90), network("baseline-a", baseline, 0.4, 150, 0.75),
                network("baseline-b", baseline, 0.3, 50, 0.85), network("baseline-c", baseline, 0.2, 90, None)]
    report = build_report("s", replace(SEARCH, objective="macs"), {}, networks, "out", "budget")
    assert report.front == ["trial-1", "trial-3"]  # trial-2 is dominated by trial-1 after full training
    truth = report.to_dict()["proxy_truth"]
    assert [(b["name"], b["dominated"], b["dominated_by"]) for b in truth["baselines"]] == [
        ("baseline-a", True, "trial-1"), ("baseline-b", False, None)]
    assert truth["dominance_sentence"] == ("The fully trained front dominates 1 of 2 baselines at equal MACs "
                                           "(not: baseline-b).")
    proxy, full = [0.5, 0.6, 0.7, 0.4, 0.3], [0.80, 0.70, 0.90, 0.75, 0.85]
    assert truth["agreement"]["n"] == 5
    assert truth["agreement"]["spearman"] == pytest.approx(stats.spearmanr(proxy, full).statistic)
    assert "baseline-c" in report.table() and "failed: worker died" in report.table()
