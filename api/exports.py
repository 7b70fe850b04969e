"""Exports (ONNX, TorchScript, weights) as cached artifacts: each is built once per (architecture, weights) and
kept, content-addressed, in NAS_EXPORT_DIR; requests for an artifact being built wait for that one build; at
most NAS_EXPORT_QUEUE builds wait or run at once, and a request that would add one more is refused
(``ExportBusy``: 503 with Retry-After).

An artifact's address is the SHA-256 of what decides its bytes: the spec (its JSON), the format, the weights
(today always the seeded initialisation, ``WEIGHTS``) and the torch version that builds it. Builds run on one
thread, in turn (torch's ONNX exporter keeps global state and is not reentrant); a waiting request holds no
thread. A file is written under a temporary name and renamed, so that a reader (another API process sharing the
directory) never sees half of one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from searchspace.detection import DetectorSpec
from searchspace.spec import ArchSpec

Spec = ArchSpec | DetectorSpec  # a classifier's or a detector's
WEIGHTS = {"init": "seeded", "seed": 0}  # the exported weights: the same bytes for the same architecture
RETRY_AFTER_S = 10
# every build of the process, on one thread, in turn (shared by every app in the process: tests run several)
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nas-export")
log = logging.getLogger(__name__)


class ExportBusy(Exception):
    """The build queue is full: retry after ``retry_after_s``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.retry_after_s = RETRY_AFTER_S
        super().__init__(f"{limit} exports are being built or waiting (NAS_EXPORT_QUEUE): retry shortly")


@dataclass(frozen=True)
class Format:
    """One kind of artifact: its file suffix, its media type, and how it is built from a spec."""

    name: str
    suffix: str
    media_type: str
    build: Callable[[Spec], bytes]


def _seeded(export: Callable[[Spec], bytes]) -> Callable[[Spec], bytes]:
    """``export`` run with the global RNG seeded from ``WEIGHTS`` (and its state restored after)."""

    def build(spec: Spec) -> bytes:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(WEIGHTS["seed"])
            return export(spec)

    return build


def _onnx(spec: Spec) -> bytes:
    if isinstance(spec, DetectorSpec):  # with its box decoding
        from searchspace.detection.export import detector_to_onnx

        return detector_to_onnx(spec)
    from searchspace.export import to_onnx

    return to_onnx(spec)


def _torchscript(spec: Spec) -> bytes:
    if isinstance(spec, DetectorSpec):
        from searchspace.export.base import ExportError

        raise ExportError("torchscript", "detectors ship as .py, ONNX and weights")
    from searchspace.export import to_torchscript

    return to_torchscript(spec)


def _weights(spec: Spec) -> bytes:
    from safetensors.torch import save

    from searchspace.builder import build
    from searchspace.detection import build_detector

    model = build_detector(spec) if isinstance(spec, DetectorSpec) else build(spec)
    return save({k: v.contiguous() for k, v in model.state_dict().items()}, metadata={
        "spec": spec.to_string(), **{k: str(v) for k, v in WEIGHTS.items()}})


FORMATS = {f.name: f for f in (
    Format("onnx", ".onnx", "application/octet-stream", _seeded(_onnx)),
    Format("torchscript", ".pt", "application/octet-stream", _seeded(_torchscript)),
    Format("weights", ".safetensors", "application/octet-stream", _seeded(_weights)),
)}


@functools.cache
def _torch_version() -> str:
    return version("torch")  # without importing torch: a kept artifact is served without it


def address(spec: Spec, fmt: Format) -> str:
    """The artifact's content address: SHA-256 over everything that decides its bytes."""
    key = {"spec": spec.to_dict(), "format": fmt.name, "weights": WEIGHTS, "torch": _torch_version()}
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class ExportCache:
    """Artifacts in ``directory``, built on demand (see the module docstring)."""

    def __init__(self, directory: Path, max_builds: int) -> None:
        self.directory = directory
        self.max_builds = max_builds
        self.builds = 0  # artifacts built by this process (what its tests count)
        self._building: dict[str, asyncio.Future[bytes]] = {}

    def path(self, key: str, fmt: Format) -> Path:
        return self.directory / key[:2] / f"{key}{fmt.suffix}"

    async def get(self, spec: Spec, fmt: Format) -> tuple[bytes, str]:
        """The artifact's bytes and its address: read when kept, else built (or the running build awaited)."""
        key = address(spec, fmt)
        path = self.path(key, fmt)
        kept = await run_in_threadpool(_read, path)
        if kept is not None:
            return kept, key
        running = self._building.get(key)
        if running is None:
            if len(self._building) >= self.max_builds:
                raise ExportBusy(self.max_builds)
            running = asyncio.get_running_loop().create_future()
            self._building[key] = running
            asyncio.get_running_loop().create_task(self._build(spec, fmt, key, path, running))
        return await asyncio.shield(running), key

    async def _build(self, spec: Spec, fmt: Format, key: str, path: Path, done: asyncio.Future[bytes]) -> None:
        try:
            data = await asyncio.wrap_future(_BUILDER.submit(_build_and_keep, fmt, spec, path))
            self.builds += 1
            done.set_result(data)
        except Exception as err:  # noqa: BLE001 -- handed to every request waiting for it (ExportError: 409)
            done.set_exception(err)
            done.exception()  # marked retrieved: no warning when every waiter has gone
        finally:
            del self._building[key]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _build_and_keep(fmt: Format, spec: Spec, path: Path) -> bytes:
    """Build the artifact and keep it at ``path`` (written under a temporary name, then renamed)."""
    kept = _read(path)  # another process sharing the directory may have built it meanwhile
    if kept is not None:
        return kept
    data = fmt.build(spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".building-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as err:  # a full or read-only disk: served all the same, built again next time
        log.warning("export %s not kept: %s", path.name, err)
    return data
