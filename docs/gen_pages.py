"""Writes the generated reference pages at ``mkdocs build`` time (mkdocs-gen-files): configuration, REST, CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from docs_reference import cli_markdown, configuration_markdown, rest_markdown

for name, render in (("configuration", configuration_markdown), ("rest", rest_markdown), ("cli", cli_markdown)):
    with mkdocs_gen_files.open(f"reference/{name}.md", "w") as page:
        page.write(render())
