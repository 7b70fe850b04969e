"""The base network of a ``python -m scaler`` subcommand: its ``--base`` / ``--zoo`` options and their loading."""

from __future__ import annotations

import argparse
from pathlib import Path

from searchspace import zoo
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec

DEFAULT_BASE = "efficientnet_b0"


def add_base_arguments(parser: argparse.ArgumentParser) -> None:
    """``--base FILE.json`` or ``--zoo NAME``, at most one of them."""
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--base", metavar="FILE.json", help="base ArchSpec JSON file")
    base.add_argument("--zoo", metavar="NAME", help=f"base network from the zoo (default {DEFAULT_BASE})")


def load_base(args: argparse.Namespace) -> ArchSpec:
    """The base network of ``--base FILE.json`` or ``--zoo NAME`` (default: the zoo's EfficientNet-B0)."""
    parser: argparse.ArgumentParser = args.parser
    if args.base is not None:
        try:
            text = Path(args.base).read_text()
        except (OSError, UnicodeDecodeError) as err:
            parser.error(f"--base: cannot read {args.base!r}: {getattr(err, 'strerror', None) or err}")
        try:
            return ArchSpec.from_json(text)
        except SpecError as err:
            parser.error(f"--base: {args.base!r} is not a valid spec: {err}")
    try:
        return zoo.get(args.zoo or DEFAULT_BASE)
    except zoo.UnknownNetworkError as err:
        parser.error(f"--zoo: {err}")
