"""Supernet training on a cluster: Ray Train's ``TorchTrainer``, DistributedDataParallel over ``ddp_workers``
workers (gloo on CPUs, nccl on GPUs), each training every step's sandwich on its share of the batch.

Every rank draws the same sub-networks (they are seeded by the step), so the ranks' graphs match and DDP
averages the gradients of each sub-network's backward pass (``find_unused_parameters``: a sub-network uses a
part of the weights); batch norm statistics are rank 0's (DDP broadcasts buffers). Rank 0 judges the extremes
after each epoch, writes the checkpoint and reports to the ``Board``; a stop (the board's, or the time cap) is
rank 0's decision, broadcast to all so that every rank stops at the same step. The checkpoint is the same file a
one-process run writes (on a cluster it must be on storage every node reads, as a shared data root is), and a
run resumes from it with any number of workers.

Listeners: on a local Ray (``workers.runtime``: every Ray listener on 127.0.0.1) the process group's store and
gloo's pairs bind the loopback interface too (``_LoopbackTorchConfig``); on a cluster, the node's address.
"""

from __future__ import annotations

import os
import socket
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from workers.oneshot.board import Trained, board_callbacks
from workers.oneshot.checkpoint import read_checkpoint
from workers.oneshot.config import OneShotConfig
from workers.oneshot.sandwich import Shard, SupernetResult, planned_steps, train_supernet

LOOPBACK = "127.0.0.1"


def _loop(cfg: dict[str, Any]) -> None:
    """One Ray Train worker: its share of the training; rank 0 posts the result to the board."""
    import ray
    import ray.train
    import ray.train.torch
    import torch
    import torch.distributed as dist

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    board = cfg["board"]
    config: OneShotConfig = cfg["config"]

    def agree(code: int) -> int:
        flag = torch.tensor([code], dtype=torch.int64)
        dist.broadcast(flag, 0)
        return int(flag.item())

    def total(value: float) -> float:
        summed = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(summed)
        return float(summed.item())

    def wrap(net: Any) -> Any:
        return ray.train.torch.prepare_model(net, parallel_strategy_kwargs={"find_unused_parameters": True})

    callbacks = {}
    if rank == 0:
        ray.get(board.plan.remote(planned_steps(config)))
        callbacks = board_callbacks(board)
    _, result = train_supernet(config, Path(cfg["checkpoint"]), threads=cfg["threads"],
                               shard=Shard(rank=rank, world=world, wrap=wrap, agree=agree, total=total), **callbacks)
    if rank == 0:
        ray.get(board.post_final.remote(result.to_dict(), _listening()))


def _listening() -> list[str]:
    """The addresses this process listens on (TCP), as ``host:port``."""
    import psutil

    return sorted(f"{c.laddr.ip}:{c.laddr.port}" for c in psutil.Process().net_connections("tcp")
                  if c.status == psutil.CONN_LISTEN)


def _local_ray() -> bool:
    import ray

    return ray.util.get_node_ip_address() == LOOPBACK


def _loopback_process_group(world_rank: int, world: int, port: int, backend: str, timeout_s: int) -> None:
    """Join the process group through a store whose server listens on 127.0.0.1 only (``TCPStore``'s own
    server binds every interface), with gloo's pairs on the loopback interface."""
    import torch.distributed as dist

    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    listen, rank = None, world_rank
    if rank == 0:
        listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listen.bind((LOOPBACK, port))
        listen.listen(128)
    store = dist.TCPStore(LOOPBACK, port, world, rank == 0, timedelta(seconds=timeout_s),
                          master_listen_fd=None if listen is None else listen.detach(), use_libuv=False)
    dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))


def _torch_config(backend: str) -> Any:
    """Ray Train's TorchConfig; on a local Ray, one whose process group listens on loopback only."""
    from ray.train.torch import TorchConfig
    from ray.train.torch.config import _TorchBackend

    if not _local_ray():
        return TorchConfig(backend=backend)

    class LoopbackBackend(_TorchBackend):
        def on_start(self, worker_group: Any, backend_config: Any) -> None:
            with socket.socket() as probe:  # a free port on loopback for rank 0's store
                probe.bind((LOOPBACK, 0))
                port = probe.getsockname()[1]
            world = len(worker_group)
            ray_get = __import__("ray").get
            ray_get([worker_group.execute_single_async(rank, _loopback_process_group, world_rank=rank, world=world,
                                                       port=port, backend=backend,
                                                       timeout_s=backend_config.timeout_s)
                     for rank in range(world)])

    class LoopbackTorchConfig(TorchConfig):
        @property
        def backend_cls(self) -> type:
            return LoopbackBackend

    return LoopbackTorchConfig(backend=backend)


def train_distributed(config: OneShotConfig, checkpoint: Path | None, workers: int, threads: int, board: Any,
                      gpus: float = 0.0) -> Trained:
    """Train ``config``'s supernet with ``TorchTrainer`` over ``workers`` workers of ``threads`` CPUs (and
    ``gpus`` GPUs) each, resuming ``checkpoint`` (a temporary file when None); the result and the weights, put
    in Ray's object store."""
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    with tempfile.TemporaryDirectory(prefix="nas-supernet-") as tmp:
        path = checkpoint or Path(tmp) / "supernet.pt"
        use_gpu = gpus > 0
        trainer = TorchTrainer(
            _loop,
            train_loop_config={"config": config, "checkpoint": str(path), "threads": threads, "board": board},
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                         resources_per_worker={"CPU": threads, **({"GPU": gpus} if use_gpu else {})}),
            torch_config=_torch_config("nccl" if use_gpu else "gloo"),
            run_config=RunConfig(storage_path=str(Path(tmp) / "ray-train"), name="supernet"),
        )
        trainer.fit()
        weights = read_checkpoint(path)["model"]
    final = ray.get(board.read.remote())["final"]
    return Trained(SupernetResult.from_dict(final["result"]), ray.put(weights), final["listening"])
