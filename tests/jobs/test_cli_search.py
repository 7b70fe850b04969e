"""One world: ``nas search --service-db URL`` (a real search, in a child process) is a search of the service. It
shows in the API like any search (its row, trials, state, front), its Optuna study is named after it and holds
every trial's learning curve as intermediate values; Ctrl-C hands it back to the queue and ``--resume`` ends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from fastapi.testclient import TestClient

from store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--dataset", "digits", "--subset", "0.3", "--workers", "1", "--epochs", "2", "--sampler", "random",
        "--pruner", "none", "--baselines", "none", "--seed", "3", "--objective", "macs"]  # no latency timed
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A config file for what no flag sets: 16 px inputs."""
    path = tmp_path_factory.mktemp("config") / "small.json"
    path.write_text(json.dumps({"space": {"resolutions": [16]}}))
    return str(path)


def _nas_search(config: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "jobs.cli", "search", "--config", config, *TINY, *args]


def _env() -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, TestClient]]:
    """The service's database (a SQLite file) and the API over it (no driver: only the command line runs)."""
    from api.main import create_app

    url = f"sqlite:///{tmp_path / 'service.db'}"
    with TestClient(create_app(Settings(database_url=url, read_cache_s=0))) as client:
        yield url, client


def test_a_command_line_search_is_a_search_of_the_service(service: tuple[str, TestClient], small: str) -> None:
    url, client = service
    proc = subprocess.run(_nas_search(small, "--trials", "2", "--service-db", url, "--name", "CLI digits", "--json"),
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)
    assert document["state"] == "succeeded" and document["counts"] == {"COMPLETE": 2}

    [search] = client.get("/v1/searches").json()["data"]
    assert search["id"] == document["search_id"] and search["name"] == "CLI digits"
    assert search["state"] == "succeeded" and search["progress"]["complete"] == 2
    hex_id = search["id"].replace("-", "")
    assert search["study"] == document["study"] == f"search-cli-digits-{hex_id}"
    trials = client.get(f"/v1/searches/{search['id']}/trials").json()
    assert trials["count"] == 2 and all(t["state"] == "COMPLETE" and 0 <= t["accuracy"] <= 1 for t in trials["data"])
    assert client.get(f"/v1/searches/{search['id']}/pareto").json()["count"] >= 1
    assert client.get(f"/v1/searches/{search['id']}").json()["best"]["trial_number"] in {0, 1}

    # optuna-dashboard's view of the same database: the named study, a learning curve per trial
    study = optuna.load_study(study_name=search["study"], storage=url)
    curves = {t["trial_number"]: t["details"]["epoch_accuracies"] for t in trials["data"]}
    assert all(len(curve) == 2 for curve in curves.values())
    assert {t.number: [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
            for t in study.get_trials()} == curves
    assert study.metric_names == ["accuracy", "macs"]


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_ctrl_c_hands_it_back_to_the_queue_and_resume_finishes_it(service: tuple[str, TestClient],
                                                                   small: str) -> None:
    url, client = service
    first = subprocess.Popen(_nas_search(small, "--trials", "3", "--service-db", url), cwd=ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def one_trial() -> bool:
            listed = client.get("/v1/searches").json()["data"]
            return bool(listed) and listed[0]["progress"]["complete"] >= 1

        _wait(one_trial, 300, "the running search shows its first trial in the API")
        [running] = client.get("/v1/searches").json()["data"]
        assert running["state"] == "running" and running["name"] is None
        assert running["study"] == f"search-{running['id'].replace('-', '')}"  # no name: the unnamed form
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-3000:]
    assert f"--resume {running['id']}" in err
    assert client.get(f"/v1/searches/{running['id']}").json()["state"] == "queued"

    again = subprocess.run([sys.executable, "-m", "jobs.cli", "search", "--service-db", url, "--resume",
                            running["id"], "--json"], cwd=ROOT, env=_env(), capture_output=True, text=True,
                           timeout=600, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["state"] == "succeeded"
    done = client.get(f"/v1/searches/{running['id']}").json()
    assert done["state"] == "succeeded" and done["attempts"] == 2
    assert done["progress"]["complete"] == 3  # the first run's trials kept, the rest trained on resume
    gone = subprocess.run([sys.executable, "-m", "jobs.cli", "search", "--service-db", url, "--resume",
                           running["id"]], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert gone.returncode == 2 and "--resume: no search" in gone.stderr
