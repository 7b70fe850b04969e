"""What the search command line prints: one JSON document on standard output under ``--json``, only the progress
bar and the result on the terminal otherwise, and everything Ray, Optuna or a child process writes in the log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.cli import progress_text
from workers.console import console, log_path_for
from workers.search import TrialRecord

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--dataset", "digits", "--subset", "0.3", "--trials", "2", "--workers", "1", "--epochs", "1",
        "--sampler", "random", "--pruner", "none", "--baselines", "none"]
CHILD = "import sys; print('child stdout noise'); print('child stderr noise', file=sys.stderr)"


@pytest.mark.parametrize("verbose", [False, True])
def test_console_hands_the_terminal_only_its_own_streams(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                         verbose: bool) -> None:
    log = tmp_path / "run.log"
    with console(log, verbose=verbose) as term:
        print("python stdout noise")
        print("python stderr noise", file=sys.stderr)
        os.write(1, b"fd 1 noise\n")
        os.write(2, b"fd 2 noise\n")
        subprocess.run([sys.executable, "-c", CHILD], check=True)
        logging.getLogger("a.library").info("a library notice")  # (ray and optuna log through handlers of their own)
        print('{"result": 1}', file=term.out)
        print("progress", file=term.err)
    captured = capfd.readouterr()
    assert captured.out == '{"result": 1}\n'
    noise = ["python stdout noise", "python stderr noise", "fd 1 noise", "fd 2 noise", "child stdout noise",
             "child stderr noise", "a.library: a library notice"]
    shown = log.read_text() if not verbose else captured.err
    assert all(line in shown for line in noise), shown
    assert captured.err == "progress\n" if not verbose else captured.err.endswith("progress\n")
    assert verbose is not log.exists()
    print("after")
    os.write(2, b"after\n")
    assert capfd.readouterr() == ("after\n", "after\n")  # restored


def test_the_log_sits_beside_a_sqlite_storage() -> None:
    assert log_path_for("sqlite:////tmp/x/search.db") == Path("/tmp/x/search.log")
    assert log_path_for("sqlite:///rel.db") == Path("rel.log")
    assert log_path_for("postgresql+psycopg://h/db") == Path("nas-search.log")


def test_the_progress_bar_rounds_the_accuracy() -> None:
    record = TrialRecord.from_record(7, "COMPLETE", {"accuracy": 0.20055710306406685})
    assert progress_text(record) == "#7 complete acc=0.2006"
    assert progress_text(TrialRecord.from_record(8, "FAIL", {"error": "boom"})) == "#8 fail"


def test_json_is_the_only_thing_on_standard_output_of_a_real_search(tmp_path: Path) -> None:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    db = tmp_path / "search.db"
    proc = subprocess.run([sys.executable, "-m", "workers", "search", *TINY, "--storage", f"sqlite:///{db}",
                           "--json"], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)  # the whole of standard output is one document
    assert document["stopped"] == "budget" and document["counts"] == {"COMPLETE": 2}
    assert len(document["trials"]) == 2 and all(0 <= t["accuracy"] <= 1 for t in document["trials"])
    assert "A new study created" not in proc.stderr and "Ray" not in proc.stderr, proc.stderr[-2000:]
    assert "A new study created" in db.with_suffix(".log").read_text()  # Optuna spoke: into the log
