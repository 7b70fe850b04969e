"""The ``nas`` console script routes every subcommand to the package command line that owns it."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api import console


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def test_every_workers_subcommand_has_a_route() -> None:
    from workers.cli import build_parser

    routed = {name for name, route in console.ROUTES.items() if route.module in ("workers.cli", "jobs.cli")}
    assert routed == _subcommands(build_parser())


def test_nas_search_is_workers_search_plus_the_service_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from workers.cli import main as workers_main

    with pytest.raises(SystemExit):
        workers_main(["search", "--help"])
    plain = capsys.readouterr().out
    with pytest.raises(SystemExit):
        console.main(["search", "--help"])
    ours = capsys.readouterr().out
    flags = lambda text: set(re.findall(r"(--[a-z-]+)", text))  # noqa: E731
    assert flags(ours) - flags(plain) == {"--service-db", "--name", "--resume"}
    for bad, flag in ((["--name", "x"], "--name"), (["--service-db", "sqlite:///x.db", "--study", "s"], "--study"),
                      (["--service-db", "mysql://h/db"], "--service-db")):
        with pytest.raises(SystemExit) as exit_:
            console.main(["search", *bad])
        assert exit_.value.code == 2 and f"error: {flag}" in capsys.readouterr().err


def test_nas_show_is_python_m_searchspace_show(capsys: pytest.CaptureFixture[str]) -> None:
    from searchspace.cli import main as searchspace_main

    assert console.main(["show", "mobilenet_v2", "--json"]) == 0
    via_nas = json.loads(capsys.readouterr().out)
    searchspace_main(["show", "mobilenet_v2", "--json"])
    assert via_nas == json.loads(capsys.readouterr().out)


def test_nas_scale_derive_drops_the_scale_word(capsys: pytest.CaptureFixture[str]) -> None:
    assert console.main(["scale", "derive", "--phi", "1"]) == 0
    assert "phi1" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        console.main(["bogus"])
    assert exit_.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "nas"
    assert script.exists(), "pip install -e . installs the nas command ([project.scripts])"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert all(name in out for name in console.ROUTES)
