"""Detector export: the standalone .py against the builder (same state_dict, same outputs), ONNX with the box
decoding in onnxruntime against the torch module, and the command line.

Generated files are executed here, in tests only: each is written to a temporary directory and imported.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from searchspace.cli import main as cli_main
from searchspace.detection import DetectorSpec, NeckSpec, build_detector, zoo
from searchspace.detection.export import detector_to_onnx, detector_to_python, validated_detector
from searchspace.errors import SpecError
from searchspace.export import ExportError
from tests.searchspace.detection.strategies import detectors

ONNX_CASES = ["ssdlite320_mobilenet_v3_large_10cls", "yolox_nano_style"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(source: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source)
    module_spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _trained_like(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights and batch-norm statistics away from their initial values, so that boxes move off the priors."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=generator) * 0.05
                tensor.copy_(noise.abs() + 0.5 if name.endswith("running_var") else tensor + noise)
    return model.eval()


def _assert_exact(spec: DetectorSpec, directory: Path, name: str) -> None:
    module = _load(detector_to_python(spec), directory, name)
    assert module.INPUT_SIZE == (spec.backbone.in_chans, spec.resolution, spec.resolution)
    built = _trained_like(build_detector(spec))
    exported = module.build_model(num_classes=spec.num_classes).eval()
    assert {k: v.shape for k, v in exported.state_dict().items()} == {k: v.shape for k, v in built.state_dict().items()}
    exported.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, *module.INPUT_SIZE)
    with torch.no_grad():
        want, got = built(x), exported(x)
        for w, g in zip([*want[0], *want[1]], [*got[0], *got[1]], strict=True):
            torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
        for w, g in zip(built.decode(want), exported.decode(got), strict=True):
            torch.testing.assert_close(g, w, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_detector_exports_exactly(name: str, tmp_path: Path) -> None:
    _assert_exact(zoo.get(name), tmp_path, name)


def test_fpn_lite_detector_exports_exactly(tmp_path: Path) -> None:
    spec = replace(zoo.get("yolox_nano_style"), neck=NeckSpec(kind="fpn_lite", width=48, kernel=5))
    _assert_exact(spec, tmp_path, "fpn")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(spec=detectors())
def test_random_detectors_export_exactly(spec: DetectorSpec, tmp_path_factory: pytest.TempPathFactory) -> None:
    _assert_exact(spec, tmp_path_factory.mktemp("random"), "random")


@pytest.mark.skipif(shutil.which("ruff", path=str(Path(sys.executable).parent)) is None, reason="needs ruff")
def test_generated_files_are_formatted_and_ruff_clean(tmp_path: Path) -> None:
    paths = []
    for name in ("ssdlite320_mobilenet_v3_large", "yolox_nano_style"):
        paths.append(tmp_path / f"{name}.py")
        paths[-1].write_text(detector_to_python(zoo.get(name)))
    ruff = str(Path(sys.executable).parent / "ruff")
    flags = ["--isolated", "--line-length", "110"]
    check = subprocess.run([ruff, "check", *flags, "--extend-select", "E501,W,I", *map(str, paths)],
                           check=False, capture_output=True)
    assert check.returncode == 0, check.stdout.decode()[-3000:]
    fmt = subprocess.run([ruff, "format", *flags, "--check", *map(str, paths)], check=False, capture_output=True)
    assert fmt.returncode == 0, fmt.stdout.decode()[-3000:]


def test_exported_file_imports_only_torch_and_names_the_counts() -> None:
    spec = zoo.get("ssdlite320_mobilenet_v3_large")
    source = detector_to_python(spec)
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"math", "torch", "collections", "typing"}
    doc = ast.get_docstring(tree) or ""
    assert "Parameters: 3,440,060" in doc and "non-maximum suppression is the caller's" in doc
    assert " ".join(line.strip() for line in doc.split("\n\n")[2].splitlines()) == spec.to_string()


@pytest.mark.parametrize("name", ONNX_CASES)
def test_onnx_matches_the_torch_decoding(name: str) -> None:
    import onnxruntime as ort

    spec = zoo.get(name)
    model = _trained_like(build_detector(spec), seed=1)
    session = ort.InferenceSession(detector_to_onnx(spec, state_dict=model.state_dict()),
                                   providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores"]
    x = torch.randn(3, 3, spec.resolution, spec.resolution)  # the batch axis is dynamic (exported at 1)
    boxes, scores = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        want_boxes, want_scores = model.detect(x)
    assert boxes.shape == tuple(want_boxes.shape) and scores.shape == tuple(want_scores.shape)
    assert float(want_boxes.std()) > 1.0  # the boxes moved: a real comparison, not priors against priors
    np.testing.assert_allclose(boxes, want_boxes.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(scores, want_scores.numpy(), atol=1e-4, rtol=0)


def test_onnx_refuses_a_bad_opset_and_a_wrong_state_dict() -> None:
    spec = zoo.get("yolox_nano_style")
    with pytest.raises(ExportError) as err:
        detector_to_onnx(spec, opset=9)
    assert err.value.part == "opset"
    with pytest.raises(RuntimeError):
        detector_to_onnx(spec, state_dict={"nope": torch.zeros(1)})


def test_validated_detector_accepts_every_form_and_refuses_hostile_data() -> None:
    spec = zoo.get("yolox_nano_style")
    for form in (spec, spec.to_dict(), spec.to_json(), spec.to_json().encode(), spec.to_string()):
        assert validated_detector(form) == spec
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(SpecError):
        validated_detector({**spec.to_dict(), "backbone": deep})
    with pytest.raises(SpecError) as err:
        validated_detector("{not json")
    assert err.value.field == "spec"


def test_cli_lists_detectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["zoo"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_b0" in out and "ssdlite320_mobilenet_v3_large" in out and "3,440,060" in out
    assert cli_main(["zoo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in data["detectors"]}
    assert rows["ssdlite320_mobilenet_v3_large_10cls"]["params"] == 2_317_400
    assert rows["ssdlite320_mobilenet_v3_large"]["params_deviation_pct"] == 0.0
    assert {r["name"] for r in data["classifiers"]} >= {"mobilenet_v3_large"}


def test_cli_shows_and_exports_detectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = zoo.get("yolox_nano_style")
    path = tmp_path / "det.json"
    path.write_text(spec.to_json())
    assert cli_main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == spec.to_string() and "head/yolox" in out
    assert cli_main(["export", str(path), "--format", "py", "--out", str(tmp_path / "det.py")]) == 0
    assert (tmp_path / "det.py").read_text() == detector_to_python(spec)
    assert cli_main(["export", "--zoo", "yolox_nano_style", "--format", "onnx", "--out", str(tmp_path / "d.onnx")]) == 0
    assert (tmp_path / "d.onnx").stat().st_size > 100_000
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["export", "--zoo", "yolox_nano_style", "--format", "torchscript", "--out", str(tmp_path / "d.pt")])
    assert exit_info.value.code == 1
