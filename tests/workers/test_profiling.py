"""Profiling a tiny space end to end (both runtimes), resuming, the correction fit, and searches that predict
latency from the profile instead of timing on the worker."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from ray import cloudpickle

from searchspace.errors import SpecError
from searchspace.latency_keys import network_parts, space_parts
from searchspace.latency_table import DeviceProfile, LatencyEntry, predict
from searchspace.space import SearchSpace, StageSpace
from tests.workers import profiled_eval
from workers import cli
from workers.data import DatasetConfig
from workers.latency import LatencyConfig, Timing, partial_path, sample_specs
from workers.latency.correction import fit_correction
from workers.latency.measure import timed_rounds
from workers.latency.profile import profile_parts, profile_space
from workers.latency.timing import time_part
from workers.search import SearchConfig, SearchDriver
from workers.training import TrainBudget

cloudpickle.register_pickle_by_value(profiled_eval)
optuna.logging.set_verbosity(optuna.logging.WARNING)
FAST = Timing(warmup=1, repeats=3, rounds=2)
# digits: 10 classes, 1 channel; few choices so that the whole space profiles in seconds
SPACE = SearchSpace(
    stages=(StageSpace(stride=1, out_chs=8, repeats=1, kinds=("mbconv", "ghost"), kernels=(3,), expansions=(1.0, 3.0),
                       se_ratios=(0.0,), acts=("relu",), repeat_deltas=(0, 1), width_factors=(1.0,)),
            StageSpace(stride=2, out_chs=16, repeats=1, kinds=("mbconv",), kernels=(3,), expansions=(3.0,),
                       se_ratios=(0.0, 0.25), acts=("relu",), repeat_deltas=(0,), width_factors=(1.0,))),
    resolutions=(16,), stem_chs=8, head_chs=32, num_classes=10, in_chans=1,
)


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profile") / "device.json"
    profile_space(SPACE, FAST, out, name="tiny", calibration=4, progress=False)
    return out


def test_profile_covers_the_space_and_round_trips(profile_file: Path) -> None:
    profile = DeviceProfile.from_json(profile_file.read_text())
    assert set(profile.entries) == set(space_parts(SPACE))
    assert all(e.ms > 0 and e.repeats == 6 for e in profile.entries.values())
    assert profile.device.runtime == "eager" and profile.device.threads == 1 and profile.device.torch
    assert profile.correction.fitted_on == 4 and profile.device.calibration == "plain"
    assert not partial_path(profile_file).exists()
    for spec in sample_specs(SPACE, 5, seed=9):
        assert predict(spec, profile) > 0


def test_the_correction_is_fitted_on_the_plain_loops_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    from searchspace.latency_table import table_terms
    from workers.latency import profile as profiling
    from workers.latency.plain import PlainLatency, PlainLoop

    specs = sample_specs(SPACE, 6, seed=2)
    entries = {p.key: LatencyEntry(ms=0.1 + 0.01 * i) for i, p in enumerate(space_parts(SPACE).values())}
    table = DeviceProfile(device=profiling.describe(FAST), entries=entries)
    sums = [table_terms(s, table)[0] for s in specs]
    loops: list[PlainLoop] = []

    def plain(timed: list, loop: PlainLoop) -> list[PlainLatency]:  # what a user's loop reports: 2.5x the sum
        loops.append(loop)
        return [PlainLatency(median_ms=2.5 * table_terms(s, table)[0], min_ms=1.0, max_ms=1.2 + 0.1 * (i % 2),
                             round_ms=(), loop=loop, device=table.device) for i, s in enumerate(timed)]

    monkeypatch.setattr(profiling, "time_specs_fresh", plain)
    fitted = profiling.calibrate(table, specs, replace(FAST, runtime="onnxruntime", threads=2))
    assert loops == [PlainLoop(runtime="onnxruntime", threads=2)]
    assert fitted.device.calibration == "plain" and fitted.correction.fitted_on == 6
    assert fitted.correction.round_spread == pytest.approx(0.25)  # median of 20% and 30%
    assert [predict(s, fitted) for s in specs] == pytest.approx([2.5 * t for t in sums], rel=1e-3)


def test_onnxruntime_profile(tmp_path: Path) -> None:
    parts = list(space_parts(SPACE).values())[:3]
    profile = profile_parts(parts, replace(FAST, runtime="onnxruntime"), tmp_path / "ort.json", progress=False)
    assert profile.device.runtime == "onnxruntime" and profile.device.runtime_version
    assert set(profile.entries) == {p.key for p in parts}


def test_an_interrupted_profile_resumes_without_retiming(tmp_path: Path) -> None:
    parts = list(space_parts(SPACE).values())[:4]
    out = tmp_path / "device.json"
    first = profile_parts(parts[:2], FAST, out, progress=False)
    marked = {**first.entries, parts[0].key: LatencyEntry(ms=123.0, spread_ms=0.0, repeats=1)}
    partial_path(out).write_text(replace(first, entries=marked).to_json())
    again = profile_parts(parts, FAST, out, progress=False)
    assert again.entries[parts[0].key].ms == 123.0  # kept, not timed again
    assert set(again.entries) == {p.key for p in parts}
    with pytest.raises(SpecError, match="runtime"):
        profile_parts(parts, replace(FAST, runtime="onnxruntime"), out, progress=False)


def test_every_round_is_scaled_to_the_first_chunks_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.latency import timing as profiling

    n = len(profiling.REFERENCES)
    chunks = iter([[1.0, 2.0], [3.0, 3.0]])  # the machine's slowness in each round: it moves between rounds

    def fake(runs: list, timing: Timing) -> list[list[float]]:  # ms x the round's slowness: run i i + 1 ms,
        speeds, first_ref = next(chunks), len(runs) - n                # reference j (last n runs) j + 2 ms
        ms = [i + 1 if i < first_ref else i - first_ref + 2 for i in range(len(runs))]
        return [[m * k / 1e3 for k in speeds for _ in range(timing.repeats)] for m in ms]

    monkeypatch.setattr(profiling, "timed", fake)
    timer = profiling.Timer(FAST)
    first = timer.time([lambda: None])
    level = math.exp(sum(math.log(j + 2) for j in range(n)) / n)  # geometric mean of the references
    assert timer.reference_ms == pytest.approx(1.5 * level)  # their median level over the first chunk's rounds
    assert first[0].ms == pytest.approx(1.5) and first[0].spread_ms == pytest.approx(0.0)  # both rounds alike
    second = timer.time([lambda: None, lambda: None])
    assert [e.ms for e in second] == pytest.approx([1.5, 3.0])  # 3x slower there, scaled back
    monkeypatch.setattr(profiling, "time_runs", lambda runs, timing: [LatencyEntry(ms=3.0)] * len(runs))
    assert profiling.Timer(replace(FAST, reference=False)).time([lambda: None])[0].ms == 3.0  # as timed


@pytest.mark.parametrize("change", [{"quantile": 0.05}, {"rewarm": 1}])
def test_a_partial_profile_timed_otherwise_is_refused(tmp_path: Path, change: dict[str, float]) -> None:
    parts = list(space_parts(SPACE).values())[:1]
    out = tmp_path / "device.json"
    profile_parts(parts, FAST, out, progress=False)
    done = DeviceProfile.from_json(partial_path(out).read_text())
    assert done.reference_ms > 0 and done.device.rewarm == FAST.rewarm_calls
    with pytest.raises(SpecError, match=next(iter(change))):
        profile_parts(parts, replace(FAST, **change), out, progress=False)


def test_rewarm_runs_each_part_untimed_before_its_timed_runs_in_every_round() -> None:
    calls: list[str] = []
    ticks = iter(range(1000))
    times = timed_rounds([lambda: calls.append("a"), lambda: calls.append("b")], rounds=2, repeats=2,
                         clock=lambda: float(next(ticks)), rewarm=1)
    assert calls == ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3  # per round: 1 untimed, then 2 timed, in turn
    assert [len(t) for t in times] == [4, 4] and times[0] == [1.0] * 4  # only the timed calls are recorded


def test_fit_correction_recovers_a_power_law_despite_an_outlier() -> None:
    sums = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    measured = [1.2 * x ** 1.1 for x in sums]
    measured[2] *= 1.6  # timed in a burst of load
    c = fit_correction(sums, measured)
    assert c.scale == pytest.approx(1.2) and c.exponent == pytest.approx(1.1) and c.offset_ms == 0
    assert c.fitted_on == 6 and c.apply(2.0) == pytest.approx(1.2 * 2.0 ** 1.1)
    assert fit_correction([1.0], [2.0]).scale == 1.0


def test_fit_correction_is_stable_under_timing_noise() -> None:
    """40 networks timed with 4% noise, 50 draws: every fit predicts 200 fresh networks of the same law within 7.5%
    (the grid chosen by median log error reached 9.7%: a flat criterion lets noise pick the per-part term)."""
    import numpy as np

    worst = 0.0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        parts = rng.integers(8, 20, 240)
        sums = parts * rng.uniform(0.03, 0.08, 240)
        true = 1.05 * (sums + 0.005 * parts) ** 1.1
        c = fit_correction(sums[:40], true[:40] * np.exp(rng.normal(0, 0.04, 40)), parts[:40])
        predicted = np.array([c.apply(s, n) for s, n in zip(sums[40:], parts[40:], strict=True)])
        worst = max(worst, float(np.max(np.abs(predicted / true[40:] - 1))))
    assert worst < 0.075


def test_fit_correction_finds_what_every_part_pays_alone() -> None:
    parts = [6, 8, 10, 7, 12, 9, 11]
    sums = [n * (1.0 + 0.05 * i) for i, n in enumerate(parts)]  # about 1 ms per part
    measured = [0.9 * (s - 0.2 * n) for s, n in zip(sums, parts, strict=True)]  # 0.2 ms of each part is its call
    c = fit_correction(sums, measured, parts)
    assert c.per_part_ms == pytest.approx(-0.2, abs=0.011) and c.exponent == pytest.approx(1.0, abs=0.02)
    assert c.apply(sums[3], parts[3]) == pytest.approx(measured[3], rel=0.02)
    assert fit_correction(sums, measured).per_part_ms == 0.0  # no part counts: a plain power law


def test_cli_profiles_a_space_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = SPACE.with_choices(kinds=("mbconv",), expansions=(3.0,), se_ratios=(0.0,), repeat_deltas=(0,))
    (tmp_path / "space.json").write_text(json.dumps(small.to_dict()))
    out = tmp_path / "d.json"
    assert cli.main(["profile", "--space", str(tmp_path / "space.json"), "--out", str(out), "--repeats", "2",
                     "--rounds", "1", "--warmup", "0", "--calibrate", "0", "--rewarm", "2"]) == 0
    assert f"{len(space_parts(small))} entries" in capsys.readouterr().err
    written = DeviceProfile.from_json(out.read_text())
    assert written.correction.fitted_on == 0 and written.device.rewarm == 2


def _config(device: str) -> SearchConfig:
    return SearchConfig(dataset=DatasetConfig(subset=0.2), space=SPACE, budget=TrainBudget(epochs=1, batch_size=32),
                        latency=LatencyConfig(device=device), n_trials=4, n_workers=2, sampler="random",
                        pruner="none", seed=1, baselines=())


@pytest.mark.usefixtures("ray_session")
def test_search_predicts_from_the_profile_and_never_times_on_the_worker(profile_file: Path, sqlite_url: str) -> None:
    profile = DeviceProfile.from_json(profile_file.read_text())
    result = SearchDriver(_config("tiny-board"), sqlite_url, "profiled", evaluate_fn=profiled_eval.untimed_evaluate,
                          profile=profile).run()
    trained = [t for t in result.trials if t.state == "COMPLETE"]
    assert len([t for t in trained if t.reused_from is None]) == 4, [t.error for t in result.trials]
    for t in trained:
        assert t.latency_ms == pytest.approx(predict(t.arch, profile))
        assert t.latency_source.startswith("predicted from device profile tiny-board")
        assert t.accuracy is not None and t.device is None
    assert {t.number for t in result.pareto} <= {t.number for t in trained}


@pytest.mark.usefixtures("ray_session")
def _entries_for(spec, profile: DeviceProfile) -> dict[str, LatencyEntry]:
    """Timed entries for the parts of ``spec`` that ``profile`` lacks."""
    return {part.key: time_part(part, FAST) for part in network_parts(spec) if part.key not in profile.entries}


@pytest.mark.usefixtures("ray_session")
def test_baselines_are_predicted_from_the_profile_too_or_say_why_not(profile_file: Path, sqlite_url: str) -> None:
    profile = DeviceProfile.from_json(profile_file.read_text())
    config = replace(_config("tiny-board"), n_trials=1, baselines=("micronet_m1",))
    result = SearchDriver(config, sqlite_url, "profiled-baselines", evaluate_fn=profiled_eval.untimed_evaluate,
                          profile=profile).run()
    [baseline] = result.baselines  # trained, and never timed on the worker (untimed_evaluate would fail it)
    assert baseline.state == "COMPLETE" and baseline.accuracy is not None, baseline.error
    assert baseline.latency_ms is None and baseline.latency_source.startswith("not predicted: ")
    assert "has no entry for stem" in baseline.latency_source
    # a profile that has its parts predicts it like any trial
    full = replace(profile, entries={**profile.entries, **_entries_for(baseline.arch, profile)})
    result = SearchDriver(config, sqlite_url, "profiled-baselines-2", evaluate_fn=profiled_eval.untimed_evaluate,
                          profile=full).run()
    assert result.baselines[0].latency_ms == pytest.approx(predict(result.baselines[0].arch, full))
    assert result.baselines[0].latency_source.startswith("predicted from device profile tiny-board")


def test_a_missing_entry_fails_that_trial_only(profile_file: Path, sqlite_url: str) -> None:
    profile = DeviceProfile.from_json(profile_file.read_text())
    holed = replace(profile, entries={k: v for k, v in profile.entries.items() if not k.startswith("ghost:")})
    result = SearchDriver(replace(_config("holed"), n_trials=3), sqlite_url, "holed",
                          evaluate_fn=profiled_eval.untimed_evaluate, profile=holed).run()
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert len([t for t in result.trials if t.state == "COMPLETE" and t.reused_from is None]) == 3
    assert failed and all("no entry for stages[0].blocks[0] (ghost:" in t.error for t in failed)


def test_a_profile_must_match_the_config() -> None:
    from workers.latency import predictor_for

    with pytest.raises(SpecError, match="not loaded"):
        predictor_for(LatencyConfig(device="board-1"), None)
    assert predictor_for(LatencyConfig(device="cuda:1"), None) is None


def test_onnxruntime_parts_but_the_stem_are_timed_behind_an_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch import nn

    from workers.latency import timing as profiling

    class Adapter(nn.Module):
        pass

    def fake_runner(module: nn.Module, shape: tuple, timing: Timing) -> object:
        behind = isinstance(module, nn.Sequential) and isinstance(module[0], Adapter)
        assert shape[0] == profiling.ADAPTER_CHS or not (behind or isinstance(module, Adapter))
        return 2.0 if isinstance(module, Adapter) else 5.0 if behind else 4.0  # ms per call

    monkeypatch.setattr(profiling, "adapter_module", lambda shape: Adapter())
    monkeypatch.setattr(profiling, "runner", fake_runner)
    monkeypatch.setattr(profiling, "timed", lambda runs, timing: [[ms / 1e3] * 3 for ms in runs])
    parts = network_parts(sample_specs(SPACE, 1, 0)[0])
    timing = replace(FAST, runtime="onnxruntime", reference=False)
    got = profiling.Timer(timing).chunk(parts, sample_specs(SPACE, 1, 1))
    assert [e.ms for e in got] == pytest.approx([4.0] + [3.0] * (len(parts) - 1) + [4.0])  # stem, rest, network
    eager = profiling.Timer(replace(timing, runtime="eager")).chunk(parts, [])
    assert [e.ms for e in eager] == pytest.approx([4.0] * len(parts))  # eager: every part alone
