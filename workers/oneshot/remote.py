"""Supernet training on Ray: one Ray task (``train_in_task``) or Ray Train's DDP workers
(``workers.oneshot.distributed``) train it, and report to a ``Board``, a Ray actor that whoever started the
training reads (steps, each finished epoch's curves) and asks to stop; the trainer then checkpoints and returns.

``SupernetPhase`` is the caller's side: it starts the training, and ``poll`` says how far it got, so that a
driver can record the progress, stop it when its job is cancelled and, once it is done, hand the trained
weights to its workers through Ray's object store (``weights``: a reference, fetched by each worker once).
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

from workers.oneshot.board import Board, Trained, board_callbacks
from workers.oneshot.config import OneShotConfig
from workers.oneshot.sandwich import SupernetResult, planned_steps, train_supernet


def train_in_task(config: OneShotConfig, checkpoint: str | None, threads: int, board: Any) -> tuple[dict, dict]:
    """The Ray task that trains the supernet in one process: its result (``SupernetResult.to_dict``) and its
    weights on the CPU (the task's second return value stays in the object store)."""
    import ray

    ray.get(board.plan.remote(planned_steps(config)))
    net, result = train_supernet(config, Path(checkpoint) if checkpoint else None, threads=threads,
                                 **board_callbacks(board))
    return result.to_dict(), {key: value.cpu() for key, value in net.state_dict().items()}


class SupernetPhase:
    """A supernet's training, started on Ray (``threads`` CPUs in one task, or ``ddp_workers`` Ray Train
    workers of ``threads`` CPUs each); ``checkpoint`` is resumed when it exists and written as it trains."""

    def __init__(self, config: OneShotConfig, checkpoint: Path | None, threads: int, gpus: float = 0.0) -> None:
        import ray

        self.board = ray.remote(num_cpus=0)(Board).remote()
        self.ddp: concurrent.futures.Future[Trained] | None = None
        self.refs: list[Any] = []
        workers = config.training.ddp_workers
        if workers:
            from workers.oneshot.distributed import train_distributed

            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nas-supernet-ddp")
            self.ddp = pool.submit(train_distributed, config, checkpoint, workers, threads, self.board, gpus)
            pool.shutdown(wait=False)
        else:
            task = ray.remote(num_cpus=threads, num_gpus=gpus, num_returns=2, max_retries=0)(train_in_task)
            self.refs = list(task.remote(config, None if checkpoint is None else str(checkpoint), threads,
                                         self.board))

    def poll(self, timeout_s: float) -> tuple[dict[str, Any], Trained | None]:
        """Within ``timeout_s``: the board's reading, and the trained result once training ended (a training
        that raised raises here)."""
        import ray

        if self.ddp is not None:
            done = concurrent.futures.wait([self.ddp], timeout=timeout_s).done
            trained = self.ddp.result() if done else None
        else:
            ready, _ = ray.wait(self.refs[:1], timeout=timeout_s)
            trained = None
            if ready:
                trained = Trained(SupernetResult.from_dict(ray.get(self.refs[0])), self.refs[1])
        return ray.get(self.board.read.remote()), trained

    def stop(self) -> None:
        """Ask the training to stop at its next step (it checkpoints and returns)."""
        self.board.stop.remote()

    def close(self, grace_s: float = 60.0) -> None:
        """Stop a training still running (a Ray task is cancelled; Ray Train's workers are asked to stop and
        given ``grace_s`` to do it) and release the board; the trained weights stay with whoever holds them."""
        import ray

        for ref in self.refs[:1]:
            ray.cancel(ref, force=True)
        if self.ddp is not None and not self.ddp.done():
            self.stop()
            concurrent.futures.wait([self.ddp], timeout=grace_s)
        ray.kill(self.board)
