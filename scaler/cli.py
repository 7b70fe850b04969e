"""``python -m scaler``: derive members of a compound-scaled family from a base network.

``python -m scaler derive --phi 3`` scales the zoo's EfficientNet-B0 with the paper's alpha 1.2, beta 1.1,
gamma 1.15, rounded so that the counted MACs ratio keeps the formula's (``--rounding paper``: the paper's
rounding rules; ``--official``: the published B0..B7 table). Bad input exits with status 2 and an argparse-style message naming the argument. Each
subcommand registers itself like ``add_derive`` (the grid search: ``scaler/grid_cli.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scaler.bases import add_base_arguments, load_base
from scaler.family import OFFICIAL_TABLE, family
from scaler.grid_cli import add_grid
from scaler.scaling import ALPHA, BETA, GAMMA, Rounding, ScaledSpec, check_limits
from searchspace.errors import SpecError
from searchspace.export import to_python
from searchspace.fields import choices
from searchspace.spec import ArchSpec
from searchspace.table import format_table

# Default size limits of a scaled network: ~15x EfficientNet-B7's parameters, ~25x its MACs.
DEFAULT_MAX_PARAMS = 1_000_000_000
DEFAULT_MAX_MACS = 1_000_000_000_000
_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE = re.compile(r"(\d+(?:\.\d*)?(?:e\d+)?)([kmgt]?)")
# Argument names used in SpecError.field -> the option a user typed.
_OPTIONS = {
    "phi": "--phi",
    "alpha": "--alpha",
    "beta": "--beta",
    "gamma": "--gamma",
    "max_params": "--max-params",
    "max_macs": "--max-macs",
}
_HEADERS = (
    "phi",
    "alpha",
    "beta",
    "gamma",
    "width",
    "depth",
    "resolution",
    "params",
    "MACs",
    "MACs ratio",
    "ideal ratio",
)


def _size(text: str) -> int:
    """A positive count such as 500000000, 5e8 or 500M."""
    match = _SIZE.fullmatch(text.strip().lower())
    number = float(match.group(1)) * _SUFFIXES[match.group(2)] if match else 0.0
    if not 1 <= number <= 1e18:
        raise argparse.ArgumentTypeError(f"must be a positive count such as 5e8 or 500M, got {text!r:.40}")
    return int(number)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scaler", description="EfficientNet compound scaling.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_derive(commands)
    add_grid(commands)
    return parser


def add_derive(commands: argparse._SubParsersAction) -> None:
    """The ``derive`` subcommand (each subcommand adds its own parser and sets ``handler``)."""
    derive = commands.add_parser(
        "derive",
        help="scale a base network to family member phi",
        description="Scale a base network: depth alpha^phi, width beta^phi, resolution gamma^phi "
        "(or the published EfficientNet B0..B7 table with --official).",
    )
    which = derive.add_mutually_exclusive_group(required=True)
    which.add_argument("--phi", type=float, help="compound coefficient, 0 to 12")
    which.add_argument("--all", action="store_true", help="every member phi = 0..7, as a table")
    add_base_arguments(derive)
    derive.add_argument("--alpha", type=float, help=f"depth coefficient, >= 1 (default {ALPHA})")
    derive.add_argument("--beta", type=float, help=f"width coefficient, >= 1 (default {BETA})")
    derive.add_argument("--gamma", type=float, help=f"resolution coefficient, >= 1 (default {GAMMA})")
    derive.add_argument("--official", action="store_true", help="use the published B0..B7 table (phi 0..7)")
    derive.add_argument(
        "--rounding",
        choices=choices(Rounding),
        help=f"{Rounding.FIT}: channels, repeats and resolution rounded per base so that the counted MACs ratio "
        f"keeps (alpha*beta^2*gamma^2)^phi; {Rounding.PAPER}: multiples of 8 and ceil'd repeats "
        f"(default {Rounding.FIT})",
    )
    derive.add_argument(
        "--out", type=Path, metavar="DIR", help="write each member's spec JSON (and model code)"
    )
    derive.add_argument("--json", action="store_true", help="print JSON (a list with --all)")
    derive.add_argument(
        "--max-params",
        type=_size,
        default=DEFAULT_MAX_PARAMS,
        metavar="N",
        help=f"refuse networks with more parameters (default {DEFAULT_MAX_PARAMS:.0e})",
    )
    derive.add_argument(
        "--max-macs",
        type=_size,
        default=DEFAULT_MAX_MACS,
        metavar="N",
        help=f"refuse networks with more multiply-adds (default {DEFAULT_MAX_MACS:.0e})",
    )
    derive.set_defaults(handler=run_derive, parser=derive)


def run_derive(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.official:
        for name in ("alpha", "beta", "gamma", "rounding"):
            if getattr(args, name) is not None:
                parser.error(
                    f"--{name}: not allowed with --official (the published table fixes the multipliers and "
                    "their rounding)"
                )
        if args.phi is not None and args.phi not in OFFICIAL_TABLE:
            parser.error(
                f"--phi: must be one of {', '.join(map(str, OFFICIAL_TABLE))} with --official, "
                f"got {args.phi:g}"
            )
    base = load_base(args)
    phis = list(OFFICIAL_TABLE) if args.all else [args.phi]
    coefficients = {
        "alpha": ALPHA if args.alpha is None else args.alpha,
        "beta": BETA if args.beta is None else args.beta,
        "gamma": GAMMA if args.gamma is None else args.gamma,
    }
    try:
        members = family(base, phis, use_official=args.official, rounding=args.rounding or Rounding.FIT,
                         **coefficients)
        for member in members:
            check_limits(member, args.max_params, args.max_macs)
    except SpecError as err:
        parser.error(f"{_OPTIONS.get(err.field, '--' + err.field)}: {err.message}")

    written: list[Path] = []
    if args.out is not None:
        try:
            for member in members:
                written += write_member(args.out, member)
        except OSError as err:
            parser.error(f"--out: cannot write to {str(args.out)!r}: {err.strerror or err}")
        except SpecError as err:
            parser.error(f"--out: cannot export the model code: {err}")

    if args.json:
        rows = [m.to_dict() for m in members]
        print(json.dumps(rows if args.all else rows[0], indent=2))
        return 0
    print(describe(base, members[0], args.official))
    print(format_table(_HEADERS, [table_row(m) for m in members]))
    for line in adjustments(members):
        print(line)
    if not args.all:
        print(f"\n{members[0].spec.name or 'spec'}: {members[0].spec.to_string()}")
    for path in written:
        print(f"wrote {path}")
    return 0


def describe(base: ArchSpec, first: ScaledSpec, use_official: bool) -> str:
    """Header lines: the base and how its family is scaled."""
    c = first.base_count
    lines = [f"base {base.name or '(unnamed)'}: {c.params:,} params, {c.macs:,} MACs at {base.resolution}px"]
    if use_official:
        lines.append("scaling: the published EfficientNet B0..B7 table (width, depth, resolution, dropout)")
    else:
        a, b, g = first.alpha, first.beta, first.gamma
        lines.append(
            f"scaling: depth alpha^phi, width beta^phi, resolution gamma^phi with alpha {a:g}, beta {b:g}, "
            f"gamma {g:g}; alpha*beta^2*gamma^2 = {a * b**2 * g**2:.3f}"
        )
        rule = first.rounding.rule if first.rounding is not None else Rounding.PAPER
        lines.append(f"rounding: {rule}" + (" (kept to the MACs ratio per base)" if rule is Rounding.FIT
                                            else " (multiples of 8, ceil'd repeats)"))
    return "\n".join(lines) + "\n"


def adjustments(members: list[ScaledSpec]) -> list[str]:
    """One line per rounding a member moved from the paper's rules (blank line first, none if nothing moved)."""
    lines = [f"phi {m.phi:g}: {what}" for m in members if m.rounding is not None for what in m.rounding.adjusted]
    return ["", "rounding moved from the paper's rules to keep the MACs ratio:", *lines] if lines else []


def table_row(m: ScaledSpec) -> list[Any]:
    phi = int(m.phi) if m.phi is not None and float(m.phi).is_integer() else m.phi
    return [
        phi,
        m.alpha,
        m.beta,
        m.gamma,
        m.width_mult,
        m.depth_mult,
        m.resolution,
        m.count.params,
        m.count.macs,
        m.macs_ratio,
        m.ideal_ratio,
    ]


def write_member(out_dir: Path, member: ScaledSpec) -> list[Path]:
    """``<name>.json`` (the scaled ArchSpec) and ``<name>.py`` (standalone PyTorch source of the model)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = member.spec.name or f"phi{member.phi:g}"
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.py"]
    paths[0].write_text(member.spec.to_json() + "\n")
    paths[1].write_text(to_python(member.spec))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
