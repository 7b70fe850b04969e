"""Profiling a device: time every part a search space can produce (resumable chunk by chunk), then calibrate the
correction on random networks of the space, each timed whole by the plain loop (``workers.latency.plain``) in a
fresh process: the latency a user measures, which the profile then predicts."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from searchspace.errors import SpecError
from searchspace.latency_keys import Part, space_parts
from searchspace.latency_table import (
    DeviceDescription,
    DeviceProfile,
    LatencyEntry,
)
from searchspace.space import SearchSpace, sample
from searchspace.spec import ArchSpec
from workers.latency.correction import fitted
from workers.latency.plain import PlainLoop, time_specs_fresh
from workers.latency.timing import Timer, Timing, describe, in_chunks


def sample_specs(space: SearchSpace, n: int, seed: int) -> list[ArchSpec]:
    """``n`` random architectures of ``space`` (Optuna's random sampler, in memory)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [sample(study.ask(), space) for _ in range(n)]


def save_profile(path: Path, profile: DeviceProfile) -> None:
    """Atomic: the file holds the previous or the new table, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(profile.to_json())
    os.replace(tmp, path)


def partial_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def resume(path: Path, device: DeviceDescription) -> DeviceProfile | None:
    """What an interrupted run with the same runtime, threads, clock, quantile and rewarm already measured."""
    if not path.exists():
        return None
    done = DeviceProfile.from_json(path.read_text())
    for name in ("runtime", "threads", "cpu", "batch_size", "clock", "quantile", "rewarm"):
        if getattr(done.device, name) != getattr(device, name):
            raise SpecError(name, f"{path} was measured with {name}={getattr(done.device, name)!r}, this run has "
                                  f"{getattr(device, name)!r}; remove it or profile with the same setting")
    return done


def time_profile(
    parts: Iterable[Part],
    timing: Timing,
    out: Path,
    name: str = "",
    progress: bool = True,
    networks: Sequence[ArchSpec] = (),
) -> tuple[DeviceProfile, list[LatencyEntry]]:
    """Time every part not already in ``out``'s partial file (the uncorrected profile, also left in it), and
    ``networks`` whole, a few in every chunk, so that they saw the machine in the same states as the entries (a
    chunk's leftover error of scaling averages out over chunks): the profile and the networks' entries."""
    from tqdm import tqdm

    device = describe(timing, name)
    partial = partial_path(out)
    done = resume(partial, device)
    entries = dict(done.entries) if done else {}
    timer = Timer(timing, done.reference_ms or None if done else None)
    todo = [part for part in parts if part.key not in entries]
    chunks = list(in_chunks(todo))
    per = math.ceil(len(networks) / len(chunks)) if chunks else 0
    queue, measured = list(networks), []
    with tqdm(total=len(todo), desc=f"profile {timing.runtime}", unit="part", disable=not progress) as bar:
        for chunk in chunks:
            nets, queue = queue[:per], queue[per:]
            got = timer.parts(chunk, nets)
            entries.update(zip((p.key for p in chunk), got, strict=False))
            measured += got[len(chunk):]
            save_profile(partial, DeviceProfile(device=device, entries=entries, reference_ms=timer.reference_ms or 0.0))
            bar.update(len(chunk))
    measured += timer.networks(queue) if queue else []
    return DeviceProfile(device=device, entries=entries, reference_ms=timer.reference_ms or 0.0), measured


def profile_parts(
    parts: Iterable[Part],
    timing: Timing,
    out: Path,
    name: str = "",
    progress: bool = True,
    calibration: Sequence[ArchSpec] = (),
) -> DeviceProfile:
    """``time_profile`` of the parts, then the correction fitted on the ``calibration`` networks timed by the
    plain loop (``calibrate``)."""
    profile, _ = time_profile(parts, timing, out, name, progress)
    if calibration:
        profile = calibrate(profile, calibration, timing)
    save_profile(partial_path(out), profile)
    return profile


def plain_loop(timing: Timing) -> PlainLoop:
    """The plain loop in ``timing``'s runtime and threads (its warm-up and rounds: the loop's defaults)."""
    return PlainLoop(runtime=timing.runtime, threads=timing.threads)


def calibrate(profile: DeviceProfile, specs: Sequence[ArchSpec], timing: Timing) -> DeviceProfile:
    """The profile with its correction fitted on ``specs`` timed whole by the plain loop in a fresh process
    (``time_specs_fresh``), as a user times a network."""
    import statistics

    timed = time_specs_fresh(specs, plain_loop(timing))
    profile = fitted(replace(profile, device=replace(profile.device, calibration="plain")), specs,
                     [t.median_ms for t in timed])
    spread = statistics.median(t.spread for t in timed) if timed else 0.0
    return replace(profile, correction=replace(profile.correction, round_spread=spread))


def profile_space(
    space: SearchSpace,
    timing: Timing,
    out: Path,
    name: str = "",
    calibration: int = 40,
    seed: int = 0,
    progress: bool = True,
) -> DeviceProfile:
    """Profile every part of ``space``, fit the correction on ``calibration`` random networks, write ``out``."""
    specs = sample_specs(space, calibration, seed) if calibration else []
    profile = profile_parts(space_parts(space).values(), timing, out, name, progress, specs)
    save_profile(out, profile)
    partial_path(out).unlink(missing_ok=True)
    return profile


def load_space(path: str) -> SearchSpace:
    """A search space from a JSON file: a SearchSpace, or a search config holding one under ``space``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise SpecError("--space", f"cannot read {path!r}: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("space"), dict):
        data = data["space"]
    return SearchSpace.from_dict(data)
