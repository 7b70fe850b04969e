"""``python -m workers search`` stopped with SIGTERM, as a user's Ctrl-C or a scheduler would: exit code 0, the
result printed, no trial left RUNNING, and the SQLite file alone holds the whole study (WAL checkpointed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--dataset", "digits", "--subset", "0.3", "--trials", "8", "--workers", "2", "--epochs", "1",
        "--sampler", "random", "--pruner", "none", "--baselines", "", "--study", "signals"]


def _states(url: str) -> list[TrialState]:
    try:
        study = optuna.load_study(study_name="signals", storage=url)
    except KeyError:
        return []
    return [t.state for t in study.get_trials(deepcopy=False)]


def test_sigterm_stops_the_cli_search_cleanly_and_the_db_file_is_self_contained(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    url = f"sqlite:///{db}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "workers", "search", *ARGS, "--storage", url], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while TrialState.COMPLETE not in _states(url):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-3000:]
    log = db.with_suffix(".log").read_text()  # Ray's and Optuna's messages: the terminal shows none
    assert "stopped: interrupted" in out and "SIGTERM received" not in err + log, (out, err[-2000:], log[-2000:])
    assert "A new study created" in log and "A new study created" not in err
    states = _states(url)
    assert TrialState.RUNNING not in states and TrialState.COMPLETE in states

    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)  # only the .db file
    assert _states(f"sqlite:///{copy}") == states
