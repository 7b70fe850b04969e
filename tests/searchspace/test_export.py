"""searchspace.export: standalone Python (exact against the builder), safety, ONNX, TorchScript and the CLI.

Generated files are executed here, in tests only: each is written to a temporary directory and imported.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import searchspace as ss
from searchspace import zoo
from searchspace.assembly import network_plan
from searchspace.blocks import DepthwiseSeparableSpec
from searchspace.cli import main as cli_main
from searchspace.export import ExportError, to_onnx, to_python, to_torchscript, validated
from searchspace.export.blame import blame
from searchspace.export.python import render_python
from searchspace.export.safety import check_source
from searchspace.nn.context import BuildContext
from tests.searchspace.hostile_specs import BASE, CASES
from tests.searchspace.strategies import arch_specs

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
BIG = {f"efficientnet_b{i}" for i in range(4, 8)}
NO_STRIDE_32 = {"squeezenet1_0", "squeezenet1_1"}  # their last stage is at stride 16: no feature export


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small forward passes run much faster on one thread, above all on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _small(name: str) -> ss.ArchSpec:
    """The zoo network; B4-B7 at 224 instead of 380-600 pixels to keep the forward passes cheap."""
    spec = zoo.get(name)
    return replace(spec, resolution=224) if name in BIG else spec


def _load(source: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source)
    module_spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _assert_exact(
    spec: ss.ArchSpec, directory: Path, name: str, features: bool = False, batch: int = 2
) -> None:
    """Same state_dict keys and shapes, strict load of the builder's weights, outputs within 1e-5 (eval)."""
    source = to_python(spec, features=features)
    module = _load(source, directory, name)
    assert module.INPUT_SIZE == (spec.in_chans, spec.resolution, spec.resolution)
    built = ss.build(spec, features=features).eval()
    exported = (module.build_model() if features else module.build_model(num_classes=spec.num_classes)).eval()
    expected = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in exported.state_dict().items()} == expected
    exported.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(batch, spec.in_chans, spec.resolution, spec.resolution)
    with torch.no_grad():
        want, got = built(x), exported(x)
    if features:
        assert len(got) == len(want) == 3
        for w, g in zip(want, got, strict=True):
            torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
    else:
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


# --- exactness -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_network_exports_exactly(name: str, tmp_path: Path) -> None:
    _assert_exact(_small(name), tmp_path, name, batch=1)


@pytest.mark.parametrize("name", ["efficientnet_b0", "ghostnet_1_0", "micronet_m1", "shufflenet_v2_x1_0"])
def test_feature_maps_export_exactly(name: str, tmp_path: Path) -> None:
    _assert_exact(replace(zoo.get(name), resolution=128), tmp_path, name, features=True, batch=1)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(spec=arch_specs(max_resolution=48))
def test_random_specs_export_exactly(spec: ss.ArchSpec, tmp_path_factory: pytest.TempPathFactory) -> None:
    _assert_exact(spec, tmp_path_factory.mktemp("random"), "random")


def test_num_classes_is_a_parameter(tmp_path: Path) -> None:
    module = _load(to_python(zoo.get("mobilenet_v3_small")), tmp_path, "mnv3")
    model = module.build_model(num_classes=7).eval()
    with torch.no_grad():
        assert model(torch.randn(1, *module.INPUT_SIZE)).shape == (1, 7)


def test_non_default_batchnorm_and_drop_path_reach_the_file(tmp_path: Path) -> None:
    spec = replace(validated(BASE), bn_eps=1e-3, bn_momentum=0.01, drop_path_rate=0.2)
    source = to_python(spec)
    assert 'bn = {"bn_eps": 0.001, "bn_momentum": 0.01}' in source and "drop_path=" in source
    _assert_exact(spec, tmp_path, "bn")
    module = _load(source, tmp_path, "bn2")
    norms = [m for m in module.build_model().modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.eps == 1e-3 and m.momentum == 0.01 for m in norms)


# --- the file itself ---------------------------------------------------------------------------------------------


def _exports(directory: Path) -> list[Path]:
    paths = []
    for name in zoo.names():
        for features in (False, True):
            if features and name in NO_STRIDE_32:
                continue
            path = directory / f"{name}{'_features' if features else ''}.py"
            path.write_text(to_python(zoo.get(name), features=features))
            paths.append(path)
    return paths


@pytest.mark.skipif(shutil.which("ruff", path=str(Path(sys.executable).parent)) is None, reason="needs ruff")
def test_generated_files_are_formatted_and_ruff_clean(tmp_path: Path) -> None:
    from searchspace.export import to_python_trained

    trained = tmp_path / "trained.py"  # with the trained-weights loader
    trained.write_text(to_python_trained(zoo.get("mobilenet_v2"), (0.5,), (0.25,)))
    paths = [str(p) for p in [*_exports(tmp_path), trained]]
    ruff = str(Path(sys.executable).parent / "ruff")
    flags = ["--isolated", "--line-length", "110"]
    check = subprocess.run(
        [ruff, "check", *flags, "--extend-select", "E501,W,I", *paths], check=False, capture_output=True
    )
    assert check.returncode == 0, check.stdout.decode()[-3000:]
    fmt = subprocess.run([ruff, "format", *flags, "--check", *paths], check=False, capture_output=True)
    assert fmt.returncode == 0, fmt.stdout.decode()[-3000:]


def test_imports_only_torch_and_stdlib() -> None:
    for name in ("efficientnet_b0", "micronet_m0", "ghostnet_1_0", "shufflenet_v1_g3", "squeezenet1_0"):
        tree = ast.parse(to_python(zoo.get(name)))
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert modules <= {"torch", "collections", "math", "typing"}
        assert "searchspace" not in ast.unparse(tree).replace("searchspace.export", "")


def test_only_the_classes_the_network_uses() -> None:
    def classes(name: str) -> set[str]:
        return {n.name for n in ast.parse(to_python(zoo.get(name))).body if isinstance(n, ast.ClassDef)}

    # SqueezeExcite comes with MBConv (make_se refers to it) even where no block uses SE
    assert classes("mobilenet_v2") == {
        "ConvNormAct",
        "MBConv",
        "SqueezeExcite",
        "DropPath",
        "Stem",
        "Head",
        "Network",
    }
    assert classes("squeezenet1_0") == {"ConvNormAct", "Fire", "Stem", "ConvHead", "Network"}
    assert "FeatureNetwork" in {
        n.name
        for n in ast.parse(to_python(zoo.get("efficientnet_b0"), features=True)).body
        if isinstance(n, ast.ClassDef)
    }
    assert "MicroBlock" in classes("micronet_m0") and "MBConv" not in classes("micronet_m0")


def test_header_gives_spec_counts_and_provenance() -> None:
    spec = zoo.get("efficientnet_b0")
    doc = ast.get_docstring(ast.parse(to_python(spec)))
    assert doc is not None
    c = ss.count(spec)
    assert f"Parameters: {c.params:,}" in doc and f"Multiply-adds: {c.macs:,}" in doc
    assert "searchspace.export.to_python" in doc and "SHA-256" in doc
    wrapped = doc.split("single spaces):\n\n", 1)[1].split("\n\n", 1)[0]
    assert " ".join(line.strip() for line in wrapped.splitlines()) == spec.to_string()
    assert ss.ArchSpec.from_string(spec.to_string()) == spec


# --- safety ---------------------------------------------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_spec_is_refused_naming_the_field(case, monkeypatch: pytest.MonkeyPatch) -> None:
    import searchspace.export.python as python_export

    def must_not_render(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("rendering started for a hostile spec")

    monkeypatch.setattr(python_export, "render_python", must_not_render)
    with pytest.raises(ss.SpecError) as info:
        to_python(case.make())
    assert info.value.field == case.field
    assert case.field in str(info.value)


def test_hostile_specs_get_the_builders_errors() -> None:
    """Where the builder's own parser sees the same data, the exporter refuses with the very same error."""
    for case in CASES:
        data = case.make()
        if not isinstance(data, dict) or case.id.startswith(("nested", "python", "out_chs-5000")):
            continue
        with pytest.raises(ss.SpecError) as ours:
            to_python(data)
        with pytest.raises(ss.SpecError) as builders:
            ss.build(ss.ArchSpec.from_dict(data))
        assert str(ours.value) == str(builders.value), case.id


def test_tampered_spec_object_is_revalidated() -> None:
    spec = validated(BASE)
    object.__setattr__(spec.stem, "act", 'relu"); import os; ("')
    with pytest.raises(ss.SpecError) as info:
        to_python(spec)
    assert info.value.field == "stem.act"
    block = spec.stages[1].block
    object.__setattr__(spec.stem, "act", "relu")
    object.__setattr__(block, "kernel", 3.0)
    with pytest.raises(ss.SpecError, match="stages\\[1\\].block.kernel"):
        to_python(spec)


@pytest.mark.parametrize(
    "snippet",
    [
        "import os",
        "from subprocess import run",
        "eval('1')",
        "x = __import__('os')",
        "x = (1).__class__",
        "x = lambda: 1",
        "with open('f') as f:\n    pass",
        "x = f'{1}'",
        "global y",
        "del x",
        "try:\n    pass\nexcept Exception:\n    pass",
        "@property\ndef f():\n    pass",
        "x = getattr(torch, 'load')",
        "import torch as t",
    ],
)
def test_allow_list_rejects(snippet: str) -> None:
    with pytest.raises(ExportError):
        check_source(f"import torch\n\n{snippet}\n")


def test_allow_list_accepts_every_export() -> None:
    for name in ("efficientnet_b0", "micronet_m3", "ghostnet_1_0", "shufflenet_v1_g3", "squeezenet1_1"):
        check_source(to_python(zoo.get(name)))


# --- ONNX and TorchScript ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_network_exports_to_torchscript_and_onnx(name: str) -> None:
    """Batch 1; B4-B7 at 224 pixels (see ``_small``). Outputs against the builder's module with its weights."""
    import onnx
    import onnxruntime as ort

    spec = _small(name)
    model = ss.build(spec).eval()
    weights = model.state_dict()
    x = torch.randn(1, spec.in_chans, spec.resolution, spec.resolution)
    with torch.no_grad():
        want = model(x)
        scripted = torch.jit.load(io.BytesIO(to_torchscript(spec, state_dict=weights)))
        torch.testing.assert_close(scripted(x), want, atol=1e-5, rtol=0)
    data = to_onnx(spec, state_dict=weights)
    assert onnx.load_from_string(data).opset_import[0].version >= 17
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": x.numpy()})[0]
    np.testing.assert_allclose(got, want.numpy(), atol=1e-4, rtol=0)


def test_feature_maps_export_to_onnx_and_torchscript() -> None:
    import onnxruntime as ort

    spec = zoo.get("mobilenet_v3_small")
    model = ss.build(spec, features=True).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        want = model(x)
        got = torch.jit.load(io.BytesIO(to_torchscript(spec, features=True, state_dict=model.state_dict())))(
            x
        )
    for w, g in zip(want, got, strict=True):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=0)
    session = ort.InferenceSession(to_onnx(spec, features=True, state_dict=model.state_dict()))
    outs = session.run(
        None, {"images": x.numpy()}
    )  # batch 2 through a batch-1 export: the batch axis is dynamic
    assert [o.shape[-1] for o in outs] == [28, 14, 7]
    for w, o in zip(want, outs, strict=True):
        np.testing.assert_allclose(o, w.numpy(), atol=1e-4, rtol=0)


class _Unscriptable(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * len({1: x}.items().__iter__().__next__())  # no TorchScript for dict views


def test_export_error_names_the_block_and_why() -> None:
    spec = validated(BASE)
    model = ss.build(spec).eval()
    model.stages[3][0].act_dw = _Unscriptable()
    with pytest.raises(RuntimeError) as original:
        torch.jit.script(model)
    err = blame(model, spec, "TorchScript", lambda part, _x: torch.jit.script(part), original.value)
    assert err.part == "stages[3][0] (micro)"
    assert "cannot be exported to TorchScript" in str(err) and "stages[3][0] (micro)" in str(err)


@dataclass(frozen=True, kw_only=True)
class _OpaqueSpec(DepthwiseSeparableSpec):
    """A block kind that builds its module itself instead of describing it as plain arguments."""

    def module_class(self) -> type[torch.nn.Module]:
        raise NotImplementedError

    def build(self, in_chs: int, ctx: BuildContext) -> torch.nn.Module:
        return DepthwiseSeparableSpec(out_chs=self.out_chs).build(in_chs, ctx)


def test_block_without_plain_arguments_is_refused_by_name() -> None:
    spec = ss.ArchSpec(
        stem=ss.StemSpec(out_chs=8), stages=(ss.StageSpec(block=_OpaqueSpec(out_chs=8)),), head=ss.HeadSpec()
    )
    assert ss.build(spec)(torch.randn(1, 3, 32, 32)).shape == (1, 1000)  # the builder still builds it
    with pytest.raises(ExportError, match=r"stages\[0\]\[0\]: cannot be exported"):
        render_python(spec, network_plan(spec))


def test_onnx_opset_is_checked() -> None:
    with pytest.raises(ExportError, match="opset"):
        to_onnx(BASE, opset=11)


# --- CLI ----------------------------------------------------------------------------------------------------------


def test_cli_exports_python_from_zoo_and_json(tmp_path: Path) -> None:
    out = tmp_path / "b0.py"
    assert cli_main(["export", "--zoo", "efficientnet_b0", "--format", "py", "--out", str(out)]) == 0
    assert out.read_text() == to_python(zoo.get("efficientnet_b0"))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(BASE))
    out2 = tmp_path / "base.py"
    assert cli_main(["export", str(spec_file), "--format", "py", "--out", str(out2)]) == 0
    assert out2.read_text() == to_python(BASE)


def test_cli_exports_onnx_and_torchscript(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(BASE))
    assert cli_main(["export", str(spec_file), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 10_000
    assert (
        cli_main(["export", str(spec_file), "--format", "torchscript", "--out", str(tmp_path / "m.pt")]) == 0
    )
    assert torch.jit.load(str(tmp_path / "m.pt"))(torch.randn(1, 3, 128, 128)).shape == (1, 10)


def test_cli_refuses_hostile_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**BASE, "name": 'x"; import os'}))
    with pytest.raises(SystemExit) as info:
        cli_main(["export", str(spec_file), "--format", "py", "--out", str(tmp_path / "x.py")])
    assert info.value.code == 2
    assert "name:" in capsys.readouterr().err
    assert not (tmp_path / "x.py").exists()


def test_cli_runs_as_module(tmp_path: Path) -> None:
    out = tmp_path / "m.py"
    args = [
        sys.executable,
        "-m",
        "searchspace",
        "export",
        "--zoo",
        "squeezenet1_1",
        "--format",
        "py",
        "--out",
        str(out),
    ]
    result = subprocess.run(args, check=False, capture_output=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_text().startswith('"""squeezenet1_1: standalone PyTorch classifier.')
