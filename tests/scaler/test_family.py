"""A scaling search judged at full fidelity: its settings, the family and its same-budget baselines as planned,
a tiny real run on Ray (candidates, family and baselines trained with a tiny recipe, their products, latency,
the paired comparisons), a rerun that trains nothing again, and a killed CLI run that resumes."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from scaler.family_report import Role
from scaler.family_train import plan, run_scaling
from scaler.grid_config import Candidate, Fidelity, GridConfig, grid_study_name
from searchspace import zoo
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.fit import adapt_to_macs
from searchspace.space import PROXY_SPACE, sample
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.training import TrainRecipe

ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)
RECIPE = TrainRecipe(epochs=1, batch_size=64, bn_calibration=64, auto_augment="none", ema_decay=0.0)
# A found network of the proxy space at 12 px, its own phi = 1 networks as the candidates (no proxy), two of them,
# two seeds, phi 0 and 1, MobileNetV2 beside each: 4 candidate runs, 4 family runs, each a second or two.
TINY = GridConfig(fidelity=Fidelity.FULL, recipe=RECIPE, resolution=None, proxy_width=1.0, proxy_depth=1.0,
                  max_candidates=2, seeds=2, phis=(0, 1), dataset=DatasetConfig(subset=0.3),
                  latency=LatencyConfig(warmup=2, repeats=5, window_s=0))
CLI = ["--fidelity", "full", "--full-epochs", "1", "--full-batch-size", "64", "--full-bn-calibration", "64",
       "--full-auto-augment", "none", "--full-ema-decay", "0", "--resolution", "base", "--proxy-width", "1",
       "--proxy-depth", "1", "--max-candidates", "2", "--seeds", "2", "--phis", "0,1", "--subset", "0.3"]


def found_12px(seed: int = 3) -> ArchSpec:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return replace(sample(study.ask(), replace(PROXY_SPACE, resolutions=(12,))), name="found12")


BASE = found_12px()


# --- settings -----------------------------------------------------------------------------------------------


def test_full_fidelity_settings_validate_and_round_trip() -> None:
    assert GridConfig.from_dict(json.loads(json.dumps(TINY.to_dict()))) == TINY
    assert TINY.phis == (0.0, 1.0) and GridConfig(phis=[3, 1, 0]).phis == (0.0, 1.0, 3.0)
    for bad, path in (({"fidelity": "fuller"}, "fidelity"), ({"recipe": {"resolution": 32}}, "recipe.resolution"),
                      ({"recipe": {"epochs": 0}}, "recipe.epochs"), ({"phis": []}, "phis"),
                      ({"phis": [1, 1]}, "phis"), ({"phis": [0, 13]}, "phis[1]"),
                      ({"baselines": ["no_such_net"]}, "baselines")):
        with pytest.raises(SpecError) as err:
            GridConfig.from_dict(bad)
        assert err.value.field == path
    run = TINY.run_recipe(BASE, 7)
    assert (run.resolution, run.seed, run.epochs) == (12, 7, 1)


def test_full_fidelity_is_its_own_study_and_a_proxy_grid_keeps_its_name() -> None:
    proxy = GridConfig()
    assert grid_study_name(BASE, proxy) == grid_study_name(BASE, replace(proxy, recipe=RECIPE, phis=(0, 2)))
    assert "fidelity" not in proxy.evaluation_settings()
    full = replace(proxy, fidelity=Fidelity.FULL)
    assert grid_study_name(BASE, full) != grid_study_name(BASE, proxy)
    assert grid_study_name(BASE, full) != grid_study_name(BASE, replace(full, recipe=RECIPE))


def test_the_planned_family_keeps_the_formula_and_its_baselines_match_each_member() -> None:
    info = DatasetConfig().validate()
    chosen = Candidate(1.2, 1.1, 1.15)
    for base in (BASE, zoo.get("efficientnet_b0")):
        config = replace(TINY, phis=(0, 1, 2, 3), baselines=("mobilenet_v2", "efficientnet_b0"))
        networks = plan(base, config, chosen, info)
        members = [n for n in networks if n.role is Role.MEMBER]
        assert [m.phi for m in members] == [0, 1, 2, 3] and members[0].macs_ratio == 1.0
        for m in members:
            assert (m.spec.num_classes, m.spec.in_chans) == (10, 1)
            assert abs(m.macs_ratio / m.ideal_ratio - 1) <= 0.10, (base.name, m.phi, m.macs_ratio)
        assert len({m.spec.to_string() for m in members}) == 4
        for b in (n for n in networks if n.role is Role.BASELINE):
            member = members[[0, 1, 2, 3].index(b.phi)]
            assert b.spec.resolution == member.spec.resolution and b.spec.num_classes == 10
            assert abs(math.log(b.macs / member.macs)) <= math.log(1.15), (b.name, b.macs, member.macs)
            assert b.macs == count(b.spec).macs and b.width is not None


def test_adapt_to_macs_picks_the_closest_width() -> None:
    from searchspace.fit import FINE_WIDTHS, small_input, widened

    mobilenet = zoo.get("mobilenet_v2")
    target = 3_000_000
    fitted = adapt_to_macs(mobilenet, 10, 1, 16, target)
    assert fitted.spec.stem.stride == 1 and fitted.spec.resolution == 16  # the small-input stem
    shaped = small_input(replace(mobilenet, num_classes=10, in_chans=1, resolution=16))[0]
    scaled = (widened(shaped, width) for width in FINE_WIDTHS)
    errors = [abs(math.log(count(w[0]).macs / target)) for w in scaled if w is not None]
    assert abs(math.log(fitted.macs / target)) == pytest.approx(min(errors))


def test_family_latency_is_predicted_from_a_device_profile_when_one_is_named() -> None:
    from scaler.family_train import latencies
    from searchspace.latency_keys import network_parts
    from searchspace.latency_table import DeviceDescription, DeviceProfile, LatencyEntry, predict

    networks = plan(BASE, TINY, Candidate(1.2, 1.1, 1.15), DatasetConfig().validate())
    keys = {p.key for n in networks for p in network_parts(n.spec)}
    missing = network_parts(networks[-1].spec)[1].key  # a block of the last baseline
    profile = DeviceProfile(device=DeviceDescription(name="board"), entries={
        k: LatencyEntry(ms=0.5, spread_ms=0.01, repeats=5) for k in keys - {missing}})
    config = replace(TINY, latency=LatencyConfig(device="my-board"))
    timed, how = latencies(networks, config, profile)
    assert how.startswith("predicted from device profile my-board")
    for n in networks:
        if missing in {p.key for p in network_parts(n.spec)}:
            assert timed[n.name]["latency_ms"] is None and "not predicted" in timed[n.name]["latency_source"]
        else:
            assert timed[n.name]["latency_ms"] == pytest.approx(predict(n.spec, profile))
    assert latencies(networks, replace(TINY, latency=None)) == ({}, "not measured (latency: null)")


def test_a_full_fidelity_grid_needs_an_output_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        run_scaling(BASE, TINY, f"sqlite:///{tmp_path / 'g.db'}")
    assert err.value.field == "out"


# --- real runs ----------------------------------------------------------------------------------------------


def _forbidden(spec_key: str, *args: object) -> dict:
    raise AssertionError(f"{spec_key} was trained again")


@pytest.fixture(scope="module")
def tiny_run(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, object]:
    tmp = tmp_path_factory.mktemp("family")
    url, out = f"sqlite:///{tmp / 'grid.db'}", tmp / "out"
    seen: list[str] = []
    result = run_scaling(BASE, TINY, url, out, on_network=lambda name, figures: seen.append(name))
    return url, out, (result, seen)


def test_tiny_full_fidelity_scaling_trains_the_family_beside_its_baselines(tiny_run) -> None:
    _, out, (result, seen) = tiny_run
    assert str(result.stopped) == "budget" and result.chosen is not None
    for c in result.candidates:  # ranked by validation accuracy, the test accuracy beside it, one product per run
        assert c.status == "complete" and len(c.accuracies) == 2 and 0 <= c.test_accuracy <= 1
        assert Path(c.directory, "weights.safetensors").exists() and Path(c.directory).parent.parent == out / "candidates"
    family = result.family
    assert [n.name for n in family.networks] == ["phi0", "phi1", "mobilenet_v2-phi0", "mobilenet_v2-phi1"]
    assert sorted(seen) == sorted(f"{n.name}/seed{s}" for n in family.networks for s in (0, 1))
    for n in family.networks:
        assert n.error is None and n.seeds == (0, 1) and len(n.test_accuracies) == 2
        assert n.latency_ms > 0 and "plain loop" in n.latency_source
        assert n.spec.resolution == (12 if n.phi == 0 else family.members[1].spec.resolution)
        for directory in n.directories:
            files = {p.name for p in Path(directory).iterdir()}
            assert {"weights.safetensors", "model.py", "model.onnx", "result.json", "report.json"} <= files
            assert json.loads(Path(directory, "report.json").read_text())["spec"]["resolution"] == n.spec.resolution
        assert n.directory == n.directories[0] and Path(n.directory).is_relative_to(out / "family")
    phi1 = family.members[1]
    assert phi1.macs == count(phi1.spec).macs and abs(phi1.macs_ratio / phi1.ideal_ratio - 1) <= 0.1
    # without a proxy the grid trained the very network the family's phi = 1 member is
    assert (result.chosen.proxy_macs, result.chosen.proxy_resolution) == (phi1.macs, phi1.spec.resolution)
    comparisons = family.comparisons()
    assert [(m.name, b.name) for m, b, _ in comparisons] == [("phi0", "mobilenet_v2-phi0"), ("phi1", "mobilenet_v2-phi1")]
    for m, b, c in comparisons:
        assert c.mean_difference == pytest.approx(m.test_accuracy - b.test_accuracy)
    data = json.loads(json.dumps(result.to_dict()))
    assert [m["phi"] for m in data["family"]["members"]] == [0, 1]
    assert data["family"]["comparisons"][1]["sentence"].startswith("phi 1 vs mobilenet_v2 x")
    table = family.table()
    assert "phi 1" in table and "mobilenet_v2 x" in table and "test acc" in table


def test_a_rerun_trains_nothing_again(tiny_run) -> None:
    url, out, (result, _) = tiny_run
    again = run_scaling(BASE, TINY, url, out, evaluate_fn=_forbidden, train_fn=_forbidden)
    assert [n.test_accuracies for n in again.family.networks] == [n.test_accuracies for n in result.family.networks]
    assert all(c.reused for c in again.candidates)
    with pytest.raises(SpecError) as err:  # another base in the same directory
        run_scaling(replace(BASE, name="other"), TINY, url, out, train_fn=_forbidden)
    assert err.value.field == "out"


def test_a_killed_cli_run_resumes_without_retraining(ray_session: None, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text(BASE.to_json())
    out = tmp_path / "out"
    # one candidate, one seed, phi 0 and its baseline: three runs, the CLI killed after the first family one
    small = [*CLI, "--max-candidates", "1", "--seeds", "1", "--phis", "0"]
    command = [sys.executable, "-m", "scaler", "grid", "--base", str(base), *small, "--workers", "1",
               "--storage", f"sqlite:///{tmp_path / 'grid.db'}", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 400
    try:
        while not list((out / "family").glob("*/*/seed*/result.json")):
            assert child.poll() is None and time.monotonic() < deadline, "the run ended before a family network did"
            time.sleep(0.2)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    done = {p: (p.read_text(), p.stat().st_mtime_ns) for p in out.glob("family/*/*/seed*/result.json")}
    rerun = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert all((p.read_text(), p.stat().st_mtime_ns) == before for p, before in done.items())
    assert "(reused)" in rerun.stdout  # the candidates came back from the study
    lines = rerun.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("network"))
    assert lines[header].split()[:4] == ["network", "px", "params", "MACs"] and "test acc" in lines[header]
    rows = [line.split() for line in lines[header + 2: header + 4]]
    assert rows[0][:2] == ["phi", "0"] and rows[1][0] == "mobilenet_v2" and rows[1][1].startswith("x")
    assert len(list(out.glob("family/*/*/seed*/result.json"))) == 2
