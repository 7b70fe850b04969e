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
