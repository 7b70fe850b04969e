"""``python -m workers measure``: a model's latency by the plain loop (``workers.latency.plain``) on this machine.

The model is an ONNX file, an ArchSpec (a JSON file, or its one-line string form), a zoo network, or a stored
architecture of the service (``--architecture ID --service URL``: ``workers.latency.remote``, which stores the
figure against it); the figure is printed with its spread and the device, as text or JSON. With ``--profile`` a
spec's predicted latency from that device profile is printed beside it (or why it has none: the profile does not
cover the network, or was timed with another runtime or thread count).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.fields import add_field_flag
from searchspace.latency_table import RUNTIMES, DeviceProfile, MissingEntryError, predict
from searchspace.spec import ArchSpec
from workers.latency.plain import PlainLatency, PlainLoop, time_onnx, time_spec
from workers.latency.remote import add_service_flags, client_for, measure_stored

LOOP_FLAGS = ("threads", "batch_size", "warmup", "rounds", "runs")


def add_measure_flags(p: Any) -> None:
    """The ``python -m workers measure`` flags."""
    p.add_argument("model", nargs="?", help="an ONNX file (.onnx), an ArchSpec JSON file, or a spec's one-line "
                                            "string form (arch:...)")
    p.add_argument("--zoo", metavar="NAME", help="a zoo network instead (searchspace.zoo; 1000 classes, its "
                                                 "published resolution)")
    add_field_flag(p, "--runtime", PlainLoop, "runtime", choices=RUNTIMES, default=None,
                   help="eager (PyTorch), onnxruntime or int8 (default: onnxruntime for an ONNX file, else eager)")
    for name in LOOP_FLAGS:
        add_field_flag(p, f"--{name.replace('_', '-')}", PlainLoop, name, default=getattr(PlainLoop(), name))
    p.add_argument("--shape", help="an ONNX input's shape without the batch axis where the graph leaves axes "
                                   "symbolic, e.g. 3,224,224")
    p.add_argument("--profile", help="a device profile JSON: print the spec's predicted latency beside the figure")
    add_service_flags(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def load_model(model: str | None, zoo: str | None) -> ArchSpec | Path:
    """The spec to build, or the ONNX file to run."""
    if (model is None) == (zoo is None):
        raise SpecError("model", "give exactly one: a model (ONNX file, spec JSON file or spec string) or --zoo NAME")
    if zoo is not None:
        from searchspace import zoo as networks

        try:
            return networks.get(zoo)
        except networks.UnknownNetworkError as err:
            raise SpecError("--zoo", str(err)) from None
    assert model is not None
    if model.startswith("arch:"):
        return ArchSpec.from_string(model)
    path = Path(model)
    if not path.is_file():
        raise SpecError("model", f"{model!r:.200} is not a file (nor a spec string starting with 'arch:')")
    if path.suffix.lower() == ".onnx":
        return path
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError("model", f"cannot read {model!r:.200}: {err}") from None
    return ArchSpec.from_string(text.strip()) if text.lstrip().startswith("arch:") else ArchSpec.from_json(text)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(d) for d in text.split(","))
    except ValueError:
        raise SpecError("--shape", f"must be comma-separated integers such as 3,224,224; got {text!r:.80}") from None
    if not shape or any(not 1 <= d <= 65_536 for d in shape):
        raise SpecError("--shape", f"every axis must be in [1, 65536]; got {text!r:.80}")
    return shape


def predicted(spec: ArchSpec, loop: PlainLoop, path: str) -> dict[str, Any]:
    """``spec``'s prediction from the profile at ``path`` (ms), or why there is none."""
    try:
        profile = DeviceProfile.from_json(Path(path).read_text())
    except OSError as err:
        raise SpecError("--profile", f"cannot read {path!r:.200}: {err}") from None
    device = profile.device
    timed = (device.runtime, device.threads, device.batch_size)
    if timed != (loop.runtime, loop.threads, loop.batch_size):
        return {"predicted_ms": None, "why": f"the profile was timed in {device.runtime} at {device.threads} "
                                            f"thread(s), batch {device.batch_size}; measure the same way"}
    try:
        return {"predicted_ms": predict(spec, profile, path)}
    except MissingEntryError as err:
        return {"predicted_ms": None, "why": f"uncovered: {err.message}"}


def report(figure: PlainLatency) -> str:
    """The figure, its spread and the device, in two lines."""
    d, loop = figure.device, figure.loop
    return (f"{figure.median_ms:.3f} ms  ({loop.runtime} {d.runtime_version}, {loop.describe()}; rounds "
            f"{figure.min_ms:.3f}-{figure.max_ms:.3f} ms, spread {figure.spread:.1%})\n"
            f"device: {d.cpu}, {d.machine}, {d.cores} logical CPUs, torch {d.torch}")


def loop_of(args: Any, runtime: str) -> PlainLoop:
    """The loop the flags give (``runtime`` unless --runtime names one)."""
    return PlainLoop(runtime=args.runtime or runtime, **{name: getattr(args, name) for name in LOOP_FLAGS})


def measure_service(args: Any, loop: PlainLoop) -> int:
    """``--architecture ID --service URL``: time the stored architecture, store the figure, print the comparison."""
    if args.model is not None or args.zoo is not None or args.profile:
        raise SpecError("--architecture", "measures the service's architecture: give no model, --zoo or --profile")
    with client_for(args.service, args.api_key or os.environ.get("NAS_API_KEY")) as client:
        figure, out = measure_stored(client, args.architecture, loop, args.source or "", not args.no_store)
    if args.json:
        print(json.dumps({**figure.to_dict(), **out}, indent=2))
        return 0
    print(report(figure))
    held, ratio = out["architecture_latency_ms"], out["ratio"]
    print(f"the service holds {held:.3f} ms for it ({out['latency_source'] or 'source not recorded'}): "
          f"{ratio:.3f}x this figure" if held is not None else "the service holds no latency for it")
    print(f"stored as measurement {out['stored']['id']}" if out["stored"] else "not stored (--no-store)")
    return 0


def measure_command(args: Any) -> int:
    """Run ``python -m workers measure``: time the model, print the figure (and the prediction)."""
    if args.architecture is not None:
        return measure_service(args, loop_of(args, "eager"))
    if args.service is not None:
        raise SpecError("--service", "is where --architecture is measured from; give --architecture ID")
    model = load_model(args.model, args.zoo)
    loop = loop_of(args, "onnxruntime" if isinstance(model, Path) else "eager")
    if isinstance(model, Path):
        if args.profile:
            raise SpecError("--profile", "predicts specs only; an ONNX file has no spec to look up")
        figure = time_onnx(model, loop, parse_shape(args.shape))
    else:
        figure = time_spec(model, loop)
    out = figure.to_dict()
    if args.profile and isinstance(model, ArchSpec):
        out.update(predicted(model, loop, args.profile))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(report(figure))
    if "predicted_ms" in out:
        p = out["predicted_ms"]
        print(f"predicted {p:.3f} ms from {args.profile} ({p / figure.median_ms - 1:+.1%})" if p is not None else
              f"not predicted from {args.profile}: {out['why']}")
    return 0
