"""Supernet training through Ray Train's TorchTrainer: DistributedDataParallel over 2 workers of 1 CPU (gloo) on
the session's local Ray trains a tiny supernet, checkpoints it, reports to the board, listens on loopback only,
and a one-process run resumes its checkpoint."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from searchspace.errors import SpecError
from searchspace.supernet import Supernet
from tests.workers.test_oneshot import CONFIG
from tests.workers.test_oneshot_search import CONFIG as SEARCH
from workers.oneshot import CheckpointError, SupernetPhase, load_supernet, train_supernet
from workers.search import SearchDriver

pytestmark = pytest.mark.usefixtures("ray_session")


def _loopback(host: str) -> bool:
    address = ipaddress.ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _finish(phase: SupernetPhase, timeout_s: float = 300) -> tuple:
    deadline, readings = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        reading, trained = phase.poll(0.5)
        readings.append(reading)
        if trained is not None:
            return readings, trained
    raise AssertionError(f"training did not end; last reading {readings[-1:]}")


def test_two_ddp_workers_train_the_supernet_and_a_single_process_resumes_it(tmp_path: Path) -> None:
    import ray

    config = replace(CONFIG.with_data_shape(10, 1), training=replace(CONFIG.training, ddp_workers=2))
    path = tmp_path / "supernet.pt"
    phase = SupernetPhase(config, path, threads=1)
    try:
        readings, trained = _finish(phase)
    finally:
        phase.close()
    result = trained.result
    assert result.epochs_run == 1 and result.stopped == "" and result.steps == readings[-1]["steps"] > 0
    assert result.epoch_losses[0] < 2.3 and result.largest_accuracies[0] > 0.2 and result.cpu_seconds > 0
    assert trained.listening and all(_loopback(a.rsplit(":", 1)[0]) for a in trained.listening), trained.listening
    loaded_config, net = load_supernet(path)
    assert loaded_config.training.ddp_workers == 2
    weights = ray.get(trained.weights)
    fresh = Supernet(config.space)
    fresh.load_state_dict(weights)
    for key, value in net.state_dict().items():
        torch.testing.assert_close(weights[key], value, atol=0, rtol=0)
    longer = replace(config, training=replace(config.training, ddp_workers=0,
                                              budget=replace(config.budget, epochs=2)))
    with pytest.raises(CheckpointError, match="another training.budget.epochs"):
        train_supernet(longer, path)  # the epochs change what is computed: refused by field
    _, again = train_supernet(replace(config, training=replace(config.training, ddp_workers=0)), path, threads=1)
    assert again.resumed_at_step == again.steps == result.steps  # the worker count may change on resume


def test_ddp_needs_the_cpus_it_asks_for(tmp_path: Path) -> None:
    config = replace(SEARCH, supernet=replace(SEARCH.supernet, ddp_workers=3))
    with pytest.raises(SpecError, match="3 workers x 1 thread.s. need 3 CPUs; the Ray cluster has 2") as err:
        SearchDriver(config, f"sqlite:///{tmp_path / 'search.db'}", "ddp").run()
    assert err.value.field == "supernet.ddp_workers"
