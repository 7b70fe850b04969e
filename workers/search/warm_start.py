"""The warm start of a new search: screen sampled candidates in Ray tasks, enqueue the best (workers/screening.py)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import optuna

from searchspace.spec import ArchSpec
from workers.screening import SCREENED, Proxy, non_dominated_first, sample_candidates
from workers.search.config import SearchConfig

log = logging.getLogger(__name__)
SEED_OFFSET = 1_000_003  # the screen draws other candidates than a random sampler seeded with the search seed


def warm_start(study: optuna.Study, config: SearchConfig) -> list[dict[str, Any]]:
    """Screen and enqueue (see the module docstring); the ``screened`` attributes of the enqueued trials."""
    screening = config.screening
    if screening.proxy == Proxy.NONE:
        return []
    import ray

    started = time.perf_counter()
    found = sample_candidates(config.space, screening.candidates, (config.seed + SEED_OFFSET) % 2**32,
                              config.max_params, config.max_macs)
    if not found:
        return []
    chunks = [found[i::config.n_workers] for i in range(min(config.n_workers, len(found)))]
    remote = ray.remote(num_cpus=config.latency.threads, max_retries=0)(score_keys)
    results = ray.get([remote.remote([c.spec_key for c in chunk], config, config.latency.threads)
                       for chunk in chunks])
    scores: dict[str, float] = {}
    for chunk, result in zip(chunks, results, strict=True):
        scores.update({c.spec_key: s for c, s in zip(chunk, result["scores"], strict=True)})
    cpu_per_candidate = sum(r["cpu_s"] for r in results) / len(found)
    values = [scores[c.spec_key] for c in found]
    chosen = non_dominated_first(values, [c.macs for c in found], min(screening.enqueued, config.n_trials))
    marks = []
    for rank, i in enumerate(chosen):
        mark = {"proxy": screening.proxy.value, "score": values[i], "rank": rank, "of": len(found),
                "cpu_s_per_candidate": cpu_per_candidate}
        study.enqueue_trial(found[i].params, user_attrs={SCREENED: mark}, skip_if_exists=True)
        marks.append(mark)
    log.info("screened %d candidates with %s in %.1f s (%.3f CPU-s each), enqueued %d", len(found),
             screening.proxy.value, time.perf_counter() - started, cpu_per_candidate, len(marks))
    return marks


def score_keys(spec_keys: list[str], config: SearchConfig, threads: int) -> dict[str, Any]:
    """Scores of the specs (one-line forms) on the screening batch, and the CPU-seconds spent (a Ray task)."""
    import torch

    from workers.runtime import WORKER_NICENESS
    from workers.screening import score

    if os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)
    start = time.process_time()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        batches: dict[tuple[int, int], Any] = {}  # one batch per input shape (a space may hold several)
        scores = []
        for key in spec_keys:
            spec = ArchSpec.from_string(key)
            shape = (spec.resolution, spec.in_chans)
            if shape not in batches:
                batches[shape] = screening_batch(config, spec)
            scores.append(score(spec, config.screening.proxy, batches[shape], config.seed))
    finally:
        torch.set_num_threads(previous)
    return {"scores": scores, "cpu_s": time.process_time() - start}


def screening_batch(config: SearchConfig, spec: ArchSpec) -> Any:
    """``batch`` training images at the spec's resolution, drawn by the search seed."""
    import torch

    data = config.dataset.load(spec.resolution, spec.in_chans)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(config.seed))
    return data.x_train[order[: config.screening.batch]]


