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
