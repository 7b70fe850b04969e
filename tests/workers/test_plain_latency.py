"""The plain loop that defines latency (warm-up, then the median of rounds of runs) and ``python -m workers measure``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from searchspace.builder import build
from searchspace.errors import SpecError
from searchspace.export.onnx import export_onnx
from tests.workers import tiny_spec
from workers import cli
from workers.latency import PlainLoop, time_onnx, time_spec, time_specs_fresh
from workers.latency.plain import onnx_feed, onnx_session, time_loop

FAST = {"warmup": 2, "rounds": 3, "runs": 4}


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = tiny_spec()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    path.write_bytes(export_onnx(build(spec).eval(), spec))
    return path


def test_the_loop_warms_up_then_reports_each_rounds_mean() -> None:
    calls: list[float] = []

    def run() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.002 if len(calls) > 5 else 0.05)  # slow warm-up runs stay out of the figure

    rounds = time_loop(run, PlainLoop(warmup=5, rounds=3, runs=4))
    assert len(calls) == 5 + 3 * 4 and len(rounds) == 3
    assert all(1.9 < ms < 20 for ms in rounds)


@pytest.mark.parametrize("runtime", ["eager", "onnxruntime", "int8"])
def test_a_spec_is_timed_whole_in_every_runtime(runtime: str) -> None:
    before = torch.get_num_threads()
    got = time_spec(tiny_spec(), PlainLoop(runtime=runtime, threads=1, batch_size=2, **FAST))
    assert got.min_ms <= got.median_ms <= got.max_ms and len(got.round_ms) == 3 and got.spread >= 0
    assert got.device.runtime == runtime and got.device.threads == 1 and got.device.batch_size == 2
    assert got.device.runtime_version and got.device.cpu
    assert torch.get_num_threads() == before  # the thread count is restored


def test_an_onnx_file_runs_only_in_onnxruntime_and_needs_shapes_it_leaves_open(onnx_file: Path) -> None:
    got = time_onnx(onnx_file, PlainLoop(runtime="onnxruntime", **FAST))
    assert got.median_ms > 0
    with pytest.raises(SpecError, match="onnxruntime"):
        time_onnx(onnx_file, PlainLoop(runtime="eager", **FAST))
    feed = onnx_feed(onnx_session(onnx_file, 1), batch_size=3)  # the batch axis is symbolic in the export
    assert next(iter(feed.values())).shape == (3, 1, 16, 16)
    with pytest.raises(SpecError, match="cannot load"):
        onnx_session(b"not a model", 1)


def test_int8_is_the_float_graph_statically_quantized_on_training_images(onnx_file: Path) -> None:
    import onnx

    from workers.latency.quantize import quantize, training_images

    images = training_images((1, 16, 16), count=32)
    assert images.shape == (32, 1, 16, 16) and images.dtype == "float32" and images.std() > 0.1
    ops = {node.op_type for node in onnx.load_from_string(quantize(onnx_file.read_bytes(), images)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert time_onnx(onnx_file, PlainLoop(runtime="int8", **FAST)).device.runtime == "int8"


def test_a_part_is_profiled_in_int8() -> None:
    from searchspace.latency_keys import network_parts
    from workers.latency import Timing
    from workers.latency.timing import time_part

    part = network_parts(tiny_spec())[1]
    entry = time_part(part, Timing(runtime="int8", warmup=1, rounds=2, reference=False))
    assert entry.ms > 0 and Timing(runtime="int8").rewarm_calls == 1


def test_specs_timed_in_a_fresh_process() -> None:
    got = time_specs_fresh([tiny_spec(), tiny_spec(resolution=24)], PlainLoop(**FAST))
    assert len(got) == 2 and all(t.median_ms > 0 and len(t.round_ms) == 3 for t in got)
    assert time_specs_fresh([], PlainLoop()) == []


def test_measure_an_onnx_file_as_json(onnx_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["measure", str(onnx_file), "--json", "--warmup", "2", "--rounds", "3", "--runs", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["latency_ms"] > 0 and out["min_round_ms"] <= out["latency_ms"] <= out["max_round_ms"]
    assert out["device"]["runtime"] == "onnxruntime" and out["loop"]["rounds"] == 3  # the ONNX file's runtime


def test_measure_a_spec_file_with_a_profile_that_does_not_cover_it(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from searchspace.latency_table import DeviceProfile
    from workers.latency.plain import device_description

    (tmp_path / "spec.json").write_text(tiny_spec().to_json())
    (tmp_path / "p.json").write_text(DeviceProfile(device=device_description("eager", 1), entries={}).to_json())
    assert cli.main(["measure", str(tmp_path / "spec.json"), "--profile", str(tmp_path / "p.json"), "--warmup",
                     "1", "--rounds", "2", "--runs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert " ms  (eager " in lines[0] and "2 rounds of 2 runs" in lines[0] and lines[1].startswith("device: ")
    assert "uncovered" in lines[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["--zoo", "nope"], "unknown zoo network"),
    ([], "give exactly one"),
    (["arch:bad"], "arch"),
    (["missing.onnx"], "is not a file"),
])
def test_measure_refuses_what_it_cannot_time(argv: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["measure", *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_measure_command_in_its_own_process(onnx_file: Path) -> None:
    cmd = [sys.executable, "-m", "workers", "measure", str(onnx_file), "--runtime", "eager"]
    refused = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert refused.returncode == 2 and "runs in onnxruntime" in refused.stderr
    cmd[-1] = "onnxruntime"
    done = subprocess.run([*cmd, "--threads", "1", "--rounds", "2", "--runs", "3"], capture_output=True, text=True,
                          check=True)
    assert " ms  (onnxruntime " in done.stdout and "device: " in done.stdout


# --- a measurement to store against a service's architecture ------------------------------------------------


def test_a_figure_becomes_a_measurement_that_round_trips() -> None:
    from workers.latency import LatencyMeasurement, from_figure

    figure = time_spec(tiny_spec(), PlainLoop(runtime="onnxruntime", **FAST))
    stored = from_figure(figure, "test")
    assert stored.latency_ms == figure.median_ms and stored.device == figure.device
    assert stored.spread == pytest.approx(figure.spread) and "3 rounds of 4 runs" in stored.loop
    assert stored.device.runtime == "onnxruntime" and stored.source == "test" and stored.measured_at
    assert LatencyMeasurement.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored
    assert LatencyMeasurement(latency_ms=2).spread is None and LatencyMeasurement(latency_ms=2).latency_ms == 2.0


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"latency_ms": 0}, "latency_ms", "(0, "),
    ({"latency_ms": -1.0}, "latency_ms", "must be in"),
    ({"latency_ms": float("nan")}, "latency_ms", "must be in"),
    ({"latency_ms": 1e9}, "latency_ms", "must be in"),
    ({"latency_ms": 2.0, "min_round_ms": 2.5}, "min_round_ms", "at most latency_ms"),
    ({"latency_ms": 2.0, "max_round_ms": 1.5}, "max_round_ms", "at least latency_ms"),
    ({"latency_ms": 2.0, "device": {"runtime": "tflite"}}, "device.runtime", "eager, onnxruntime, int8"),
    ({"latency_ms": 2.0, "device": {"threads": 0}}, "device.threads", "[1, 65536]"),
    ({"latency_ms": 2.0, "device": "x86"}, "device", "JSON object"),
    ({"latency_ms": 2.0, "measured_at": "yesterday"}, "measured_at", "ISO 8601"),
    ({"latency_ms": 2.0, "measured_at": "1999-12-31T23:00:00Z"}, "measured_at", "between 2000-01-01"),
    ({"latency_ms": 2.0, "measured_at": "2999-01-01T00:00:00"}, "measured_at", "a day from now"),
    ({"latency_ms": 2.0, "source": "x" * 201}, "source", "200 characters"),
    ({"latency_ms": 2.0, "loop": "a\nb"}, "loop", "printable"),
    ({}, "LatencyMeasurement", "latency_ms"),
])
def test_a_measurement_names_the_field_out_of_range(data: dict, field: str, message: str) -> None:
    from workers.latency import LatencyMeasurement

    with pytest.raises(SpecError) as err:
        LatencyMeasurement.from_dict(data)
    assert err.value.field == field and message in err.value.message


def test_a_measurement_without_a_time_was_measured_when_received() -> None:
    from datetime import UTC, datetime

    from workers.latency import LatencyMeasurement

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert LatencyMeasurement(latency_ms=1.0).when(now) == now
    given = LatencyMeasurement(latency_ms=1.0, measured_at="2026-12-01T10:00:00+01:00").when(now)
    assert given == datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("argv", "message"), [
    (["--service", "http://127.0.0.1:1"], "give --architecture"),
    (["--architecture", "not-a-uuid", "--service", "http://127.0.0.1:1"], "must be an architecture id"),
    (["--architecture", "00000000-0000-0000-0000-000000000000"], "base URL"),
    (["--architecture", "00000000-0000-0000-0000-000000000000", "--service", "ftp://x"], "base URL"),
    (["--architecture", "00000000-0000-0000-0000-000000000000", "--service", "http://127.0.0.1:1"], "cannot read"),
    (["--architecture", "00000000-0000-0000-0000-000000000000", "--service", "http://127.0.0.1:1", "--zoo",
      "mobilenet_v2"], "give no model"),
])
def test_measure_of_a_stored_architecture_refuses_what_it_cannot_reach(argv: list[str], message: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["measure", *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
