"""The standalone file for trained weights: ``load_model`` and the input statistics, within the exporter's
source allow-list."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from searchspace.export import ExportError, to_python, to_python_trained
from tests.workers import tiny_spec


def test_trained_file_loads_a_state_dict_with_torch_alone(tmp_path) -> None:
    spec = tiny_spec()
    source = to_python_trained(spec, (0.25,), (2.0,))
    assert source.startswith(to_python(spec))
    (tmp_path / "model.py").write_text(source)
    module_spec = importlib.util.spec_from_file_location("trained_model", tmp_path / "model.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    assert module.INPUT_MEAN == (0.25,) and module.INPUT_STD == (2.0,)
    reference = module.build_model()
    torch.save(reference.state_dict(), tmp_path / "weights.pt")
    loaded = module.load_model(str(tmp_path / "weights.pt"))
    assert not loaded.training
    x = torch.randn(2, 1, 16, 16)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), reference.eval()(x))


@pytest.mark.parametrize("mean", [(float("nan"),), (), (float("inf"),)])
def test_statistics_must_be_finite(mean: tuple[float, ...]) -> None:
    with pytest.raises(ExportError, match="mean"):
        to_python_trained(tiny_spec(), mean, (1.0,))


def test_trained_file_reads_safetensors_with_torch_alone(tmp_path) -> None:
    """``load_model`` takes the ``.safetensors`` file too, parsed without the safetensors package; every dtype
    a state_dict holds (and an empty and a 0-d tensor) comes back bit for bit."""
    from safetensors.torch import save_file

    source = to_python_trained(tiny_spec(), (0.25,), (2.0,))
    (tmp_path / "model.py").write_text(source)
    module_spec = importlib.util.spec_from_file_location("trained_model_st", tmp_path / "model.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    reference = module.build_model()
    torch.manual_seed(3)
    for p in reference.parameters():  # not the initialisation build_model() gives
        p.data.normal_()
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(tmp_path / "w.safetensors"),
              metadata={"spec": "x"})
    loaded = module.load_model(str(tmp_path / "w.safetensors"))
    for key, value in reference.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    odd = {"f16": torch.randn(3, 2).half(), "bf16": torch.randn(5).bfloat16(), "i64": torch.tensor(7),
           "i32": torch.arange(3, dtype=torch.int32), "u8": torch.arange(5, dtype=torch.uint8),
           "b": torch.tensor([True, False, True]), "f64": torch.randn(2, 2, dtype=torch.float64),
           "empty": torch.zeros(0, 4), "i8": torch.tensor([-3, 4], dtype=torch.int8)}
    save_file(odd, str(tmp_path / "odd.safetensors"))
    read = module.read_safetensors(str(tmp_path / "odd.safetensors"))
    assert read.keys() == odd.keys()
    for key, value in odd.items():
        assert read[key].dtype == value.dtype and read[key].shape == value.shape and torch.equal(read[key], value)
