"""Latency measurement: sane statistics, a record of the machine, nothing left changed."""

from __future__ import annotations

import platform

import pytest
import torch

import searchspace
from searchspace.errors import SpecError
from tests.workers import tiny_spec
from workers.latency import cpu_model, measure_latency


def test_latency_fields_are_sane() -> None:
    result = measure_latency(tiny_spec(), warmup=2, repeats=15)
    assert 0 < result.min_ms <= result.median_ms <= result.p90_ms
    assert result.min_ms <= result.mean_ms
    assert (result.repeats, result.warmup, result.batch_size, result.threads) == (15, 2, 1, 1)
    info = result.device_info
    assert info.device == "cpu" and info.threads == 1 and info.torch == torch.__version__
    assert info.cpu == cpu_model() and info.cpu and info.machine == platform.machine()
    assert result.to_dict()["device_info"]["cpu"] == info.cpu


def test_given_model_is_measured_and_left_as_it_was() -> None:
    spec = tiny_spec(resolution=24, in_chans=3)
    model = searchspace.build(spec).train()
    threads = torch.get_num_threads()
    result = measure_latency(spec, batch_size=4, threads=2, warmup=1, repeats=5, model=model)
    assert result.batch_size == 4 and result.threads == 2 and result.device_info.threads == 2
    assert model.training and torch.get_num_threads() == threads
    assert torch.is_grad_enabled()


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(SpecError, match="repeats"):
        measure_latency(tiny_spec(), repeats=0)


def test_a_window_keeps_timing_until_it_ends_and_is_recorded() -> None:
    import time

    start = time.perf_counter()
    result = measure_latency(tiny_spec(), warmup=0, repeats=10, window_s=0.3)
    assert time.perf_counter() - start >= 0.3
    assert result.window_s == 0.3 and result.repeats > 10  # a tiny network: many more passes than asked
    assert measure_latency(tiny_spec(), warmup=0, repeats=7).repeats == 7  # no window: exactly repeats
    with pytest.raises(SpecError, match="window_s"):
        measure_latency(tiny_spec(), window_s=-1)


def test_reference_scaling_cancels_drift_pass_by_pass(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import time

    from torch import nn

    from workers.latency import measure as latency

    slow = [1.0]  # the machine's speed factor: flips between passes, as a co-tenant makes it

    class Sleeper(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            slow[0] = 3.0 if slow[0] == 1.0 else 1.0
            time.sleep(0.002 * slow[0])
            return x

    monkeypatch.setenv("NAS_CPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(latency, "_reference_run", lambda generator: lambda: time.sleep(0.004 * slow[0]))
    kept = {**latency._timed_of(), "ms": 4.0}
    (tmp_path / "reference-t1-wall.json").write_text(json.dumps(kept))
    raw = measure_latency(tiny_spec(), warmup=0, repeats=20, model=Sleeper())
    scaled = measure_latency(tiny_spec(), warmup=0, repeats=20, model=Sleeper(), reference=True)
    assert raw.p90_ms / raw.min_ms > 2.5  # half the passes ran 3x slower: 2 and 6 ms
    assert scaled.p90_ms / scaled.median_ms < 1.2 and scaled.median_ms == pytest.approx(2.0, rel=0.15)
    assert scaled.scale is not None and scaled.repeats == 20


def test_denormals_are_flushed_while_timing_and_not_after() -> None:
    from workers.latency.measure import flushed_denormals

    tiny = torch.tensor([1e-39])  # a float32 denormal
    with flushed_denormals():
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() > 0.0


def test_reference_scaling_uses_the_nodes_level(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from workers.latency import measure as latency

    monkeypatch.setenv("NAS_CPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(latency, "LEVEL_WINDOW_S", 0.05)
    level = latency.reference_level(1, "wall")  # timed once, then kept beside the lock
    assert level > 0 and json.loads((tmp_path / "reference-t1-wall.json").read_text())["ms"] == level
    kept = latency._timed_of()
    (tmp_path / "reference-t1-wall.json").write_text(json.dumps({**kept, "ms": 1000.0}))
    result = measure_latency(tiny_spec(), warmup=1, repeats=10, reference=True)
    assert result.scale is not None and result.scale > 20  # 1000 ms over a reference of a few ms
    assert measure_latency(tiny_spec(), warmup=1, repeats=5).scale is None
    (tmp_path / "reference-t1-wall.json").write_text(json.dumps({**kept, "cpu": "another CPU", "ms": 1000.0}))
    assert latency.reference_level(1, "wall") < 1000  # timed on another CPU: timed again
    (tmp_path / "reference-t1-wall.json").write_text(json.dumps({**kept, "heap": None, "ms": 1000.0}))
    assert latency.reference_level(1, "wall") < 1000  # timed before the heap was held: timed again
    (tmp_path / "reference-t1-wall.json").write_text("{broken")
    assert latency.reference_level(1, "wall") < 1000  # a corrupt level is timed again


def test_objective_macs_times_no_latency_unless_asked() -> None:
    from dataclasses import replace

    from tests.workers.profiled_eval import untimed_evaluate
    from workers.data import DatasetConfig
    from workers.latency import LatencyConfig
    from workers.search import SearchConfig, evaluate_trial
    from workers.training import TrainBudget

    config = SearchConfig(dataset=DatasetConfig(subset=0.1), budget=TrainBudget(epochs=1, batch_size=32),
                          latency=LatencyConfig(warmup=1, repeats=3, window_s=0, reference=False),
                          objective="macs", baselines=())
    record = untimed_evaluate(tiny_spec(), config)  # raises if anything is timed
    assert "latency_ms" not in record and record["accuracy"] >= 0
    asked = replace(config, latency=replace(config.latency, always=True))
    assert evaluate_trial(tiny_spec(), asked)["latency_ms"] > 0
    assert evaluate_trial(tiny_spec(), replace(config, objective="latency"))["latency_ms"] > 0
    assert asked.latency.to_dict()["always"] is True and "always" not in config.latency.to_dict()


def test_a_worker_can_time_by_the_plain_loop_that_defines_latency() -> None:
    from workers.data import DatasetConfig
    from workers.latency import LatencyConfig
    from workers.training import TrainBudget, evaluate

    latency = LatencyConfig(loop="plain", warmup=2)
    record = evaluate(tiny_spec(), DatasetConfig(subset=0.1), TrainBudget(epochs=1, batch_size=32),
                      latency=latency).measurements()
    assert record["latency_ms"] > 0 and record["latency_p90_ms"] >= record["latency_ms"]
    assert "plain loop: batch 1, 1 thread(s), 2 warm-up runs, then the median of 7 rounds of 30 runs" in (
        record["latency_source"])
    assert latency.to_dict()["loop"] == "plain" and "loop" not in LatencyConfig().to_dict()
    with pytest.raises(SpecError, match="loop"):
        LatencyConfig(loop="plain", device="cuda")
    with pytest.raises(SpecError, match="loop"):
        LatencyConfig(loop="other")
