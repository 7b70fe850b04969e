"""``python -m searchspace``: the zoo tables (classifiers and detectors) and per-part summaries of any spec."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchspace import zoo
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.export.base import ExportError
from searchspace.spec import ArchSpec
from searchspace.table import format_table

if TYPE_CHECKING:
    from searchspace.detection import DetectorSpec


def zoo_rows() -> list[dict[str, Any]]:
    """Our analytic sizes beside the reference implementation's and the paper's, for every zoo network."""
    rows = []
    for name in zoo.names():
        spec, ref = zoo.get(name), zoo.published().get(name, {})
        c = count(spec)
        ref_macs = ref.get("reference_macs")
        rows.append({
            "name": name,
            "resolution": spec.resolution,
            "params": c.params,
            "macs": c.macs,
            "reference_params": ref.get("reference_params"),
            "reference_macs": ref_macs,
            "macs_deviation_pct": round(100 * (c.macs / ref_macs - 1), 3) if ref_macs else None,
            "published_params": ref.get("paper_params"),
            "published_macs": ref.get("paper_macs"),
            "reference_implementation": ref.get("reference_implementation"),
        })
    return rows


def load_spec(source: str) -> ArchSpec:
    """A zoo name, a path to a spec JSON file, or a one-line spec string."""
    if source in zoo.names():
        return zoo.get(source)
    path = Path(source)
    if path.suffix == ".json" or path.exists():
        try:
            return ArchSpec.from_json(path.read_text())
        except OSError as err:
            raise SpecError("spec", f"cannot read {source!r}: {err.strerror}") from None
    if source.startswith("arch:"):
        return ArchSpec.from_string(source)
    raise SpecError("spec", f"{source!r} is neither a zoo network ({', '.join(zoo.names())}) nor a JSON file")


def _zoo(args: argparse.Namespace) -> None:
    from searchspace.detection import zoo as detectors

    rows, det_rows = zoo_rows(), detectors.rows()
    if args.json:
        print(json.dumps({"classifiers": rows, "detectors": det_rows}, indent=2))
        return
    headers = ["name", "res", "params", "MACs", "ref params", "ref MACs", "MACs dev %", "paper params", "paper MACs"]
    keys = ["name", "resolution", "params", "macs", "reference_params", "reference_macs", "macs_deviation_pct",
            "published_params", "published_macs"]
    print(format_table(headers, [[r[k] for k in keys] for r in rows]))
    print("\nDetectors (ssdlite: classes include the background; reference MACs may be the implementation's rounded figure)")
    headers = ["name", "head", "neck", "res", "classes", "params", "MACs", "ref params", "params dev %", "ref MACs",
               "paper params", "paper MACs"]
    keys = ["name", "head", "neck", "resolution", "num_classes", "params", "macs", "reference_params",
            "params_deviation_pct", "reference_macs", "published_params", "published_macs"]
    print(format_table(headers, [[r[k] for k in keys] for r in det_rows]))


def load_detector(source: str) -> DetectorSpec | None:
    """A detector zoo name, a detector spec JSON file or a one-line ``det:...`` spec; None for anything else."""
    from searchspace.detection import DetectorSpec
    from searchspace.detection import zoo as detectors

    if source in detectors.names():
        return detectors.get(source)
    if source.startswith("det:"):
        return DetectorSpec.from_string(source)
    path = Path(source)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # load_spec reports it
        if isinstance(data, dict) and "backbone" in data:
            return DetectorSpec.from_dict(data)
    return None


def _show(args: argparse.Namespace) -> None:
    det = load_detector(args.spec)
    spec: ArchSpec | DetectorSpec = det if det is not None else load_spec(args.spec)
    if isinstance(spec, ArchSpec):
        c, blocks, outputs = count(spec), spec.num_blocks, spec.num_classes
    else:
        from searchspace.detection import count_detector

        c, blocks, outputs = count_detector(spec), spec.backbone.num_blocks, spec.num_classes
    if args.json:
        print(json.dumps({"spec": spec.to_dict(), "params": c.params, "macs": c.macs,
                          "parts": [vars(p) for p in c.parts]}, indent=2))
        return
    print(spec.to_string())
    rows = [[p.name, p.repeats, p.out_chs, f"{p.out_size[0]}x{p.out_size[1]}", p.params, p.macs] for p in c.parts]
    rows.append(["total", blocks, outputs, "", c.params, c.macs])
    print(format_table(["part", "blocks", "out chs", "out size", "params", "MACs"], rows))


def _export_detector(args: argparse.Namespace, spec: DetectorSpec) -> None:
    from searchspace.detection.export import detector_to_onnx, detector_to_python

    if args.features or args.format == "torchscript":
        raise ExportError("format", "a detector exports as py or onnx, without --features")
    if args.format == "py":
        data = detector_to_python(spec).encode()
    else:
        data = detector_to_onnx(spec, opset=args.opset)
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes)")


def _export(args: argparse.Namespace) -> None:
    from searchspace import export

    det = load_detector(args.zoo or args.spec)
    if det is not None:
        _export_detector(args, det)
        return
    if args.zoo:
        spec: ArchSpec | bytes = zoo.get(args.zoo)
    else:
        try:
            spec = Path(args.spec).read_bytes()
        except OSError as err:
            raise SpecError("spec", f"cannot read {args.spec!r}: {err.strerror}") from None
    if args.format == "py":
        data = export.to_python(spec, features=args.features).encode()
    elif args.format == "onnx":
        data = export.to_onnx(spec, features=args.features, opset=args.opset)
    else:
        data = export.to_torchscript(spec, features=args.features)
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes)")


def main(argv: list[str] | None = None) -> int:
    from searchspace.detection import zoo as detectors

    parser = argparse.ArgumentParser(prog="python -m searchspace", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_zoo = sub.add_parser("zoo", help="table of the reference networks: our counts vs the published ones")
    p_zoo.add_argument("--json", action="store_true")
    p_zoo.set_defaults(func=_zoo)
    p_show = sub.add_parser("show", help="per-part summary of a zoo network or detector, or a spec JSON file")
    p_show.add_argument("spec", help="zoo name, spec JSON file, or one-line spec")
    p_show.add_argument("--json", action="store_true")
    p_show.set_defaults(func=_show)
    p_export = sub.add_parser("export", help="a spec as standalone PyTorch code, ONNX or TorchScript")
    source = p_export.add_mutually_exclusive_group(required=True)
    source.add_argument("spec", nargs="?", help="spec JSON file")
    source.add_argument("--zoo", metavar="NAME", choices=zoo.names() + detectors.names(),
                        help="a zoo network (classifier or detector) instead of a file")
    p_export.add_argument("--format", choices=("py", "onnx", "torchscript"), default="py")
    p_export.add_argument("--out", required=True, help="output file")
    p_export.add_argument("--features", action="store_true", help="the stride 8/16/32 feature maps, no head")
    p_export.add_argument("--opset", type=int, default=17, help="ONNX opset (17 or newer)")
    p_export.set_defaults(func=_export)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SpecError as err:
        parser.exit(2, f"error: {err}\n")
    except ExportError as err:  # a valid spec that the format cannot express
        parser.exit(1, f"error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
