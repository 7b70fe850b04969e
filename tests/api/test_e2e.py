"""End to end, as users run it: the service as processes on 127.0.0.1 (uvicorn, real Ray, real training on
digits), SQLite with the embedded driver, PostgreSQL with a separate driver (the docker-compose layout).

Start a search, kill every service process mid-search (SIGKILL: a crash), restart: the search finishes with
every trial completed before the crash kept. Then download the best architecture's code and run it in a
fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service_process import ROOT, running_service, service, wait_for

SEARCH = {"n_trials": 4, "n_workers": 2, "sampler": "random", "pruner": "none", "seed": 1,
          "space": {"resolutions": [16]}, "dataset": {"subset": 0.3}, "training": {"epochs": 1, "batch_size": 32},
          "latency": {"warmup": 2, "repeats": 5, "window_s": 0}, "baselines": []}
pytestmark = pytest.mark.slow


def completed(client: httpx.Client, search_id: str) -> dict[int, dict]:
    rows = client.get(f"/v1/searches/{search_id}/trials", params={"state": "COMPLETE", "limit": 100}).json()
    return {t["trial_number"]: t for t in rows["data"]}


def test_search_survives_a_crash_and_its_best_architecture_runs_standalone(database_url: str, tmp_path: Path) -> None:
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    with service(database_url, embedded, logs) as client:
        created = client.post("/v1/searches", json={**SEARCH, "baselines": ["micronet_m1"]})
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
        wait_for(client, search_id, lambda b: b["progress"]["complete"] >= 2, timeout_s=240)
        before = completed(client, search_id)
    # every service process was killed mid-search; start again
    with service(database_url, embedded, logs) as client:
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
        assert body["state"] == "succeeded", (body, logs.read_text()[-3000:])
        assert body["attempts"] == 2 and body["stopped"] == "budget"
        assert body["progress"]["complete"] + body["progress"]["pruned"] == SEARCH["n_trials"]
        [baseline] = body["baselines"]  # trained beside the search, across the crash
        assert baseline["name"] == "micronet_m1" and baseline["state"] == "COMPLETE", baseline
        assert 0.0 <= baseline["architecture"]["accuracy"] <= 1.0 and baseline["dominated"] in (True, False)
        after = completed(client, search_id)
        for number, trial in before.items():
            assert after[number]["id"] == trial["id"] and after[number]["accuracy"] == trial["accuracy"]
        best = body["best"]
        assert best["trial_number"] in after and 0.0 <= best["accuracy"] <= 1.0 and best["latency_ms"] > 0
        code = client.get(best["links"]["code"])
        assert code.status_code == 200 and "attachment" in code.headers["content-disposition"]

    path = tmp_path / "model.py"
    path.write_text(code.text)
    probe = ("import importlib.util, sys, torch\n"
             "spec = importlib.util.spec_from_file_location('model', sys.argv[1])\n"
             "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
             "assert not {'searchspace', 'workers', 'api', 'scaler'} & set(sys.modules)\n"
             "net = m.build_model().eval()\n"
             "print(tuple(net(torch.randn(2, *m.INPUT_SIZE)).shape))\n")
    run = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"(2, {best['spec']['num_classes']})"


SMALL = {**SEARCH, "n_trials": 2}
LOOPBACK = ("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:")


def _group_pids(procs: list[subprocess.Popen]) -> set[int]:
    """The service's processes: those in its process groups and every descendant of them."""
    groups = {p.pid for p in procs}
    rows = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True, check=True).stdout
    table = [tuple(map(int, line.split())) for line in rows.splitlines()]
    found = {pid for pid, _, pgid in table if pgid in groups} | groups
    while True:
        more = {pid for pid, ppid, _ in table if ppid in found} - found
        if not more:
            return found
        found |= more


def _listeners(pids: set[int]) -> list[tuple[str, int, str]]:
    """(local address, pid, process name) of every TCP listener the service's processes hold."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            if int(pid) in pids:
                found.append((fields[3], int(pid), name))
    return found


def _raylets(pids: set[int]) -> set[int]:
    return {pid for pid in pids if "raylet/raylet" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")}


def test_one_service_runs_search_after_search_on_one_loopback_ray_and_survives_its_raylet(
        database_url: str, tmp_path: Path) -> None:
    """Three searches in a row on one process (Ray started once, every listener on loopback); a raylet killed
    mid-search is restarted and that search completes; the service process never exits."""
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    with running_service(database_url, embedded, logs) as run:
        raylets: set[int] = set()
        for _ in range(3):
            created = run.client.post("/v1/searches", json=SMALL)
            assert created.status_code == 201, created.text
            body = wait_for(run.client, created.json()["id"], lambda b: b["state"] not in ("queued", "running"),
                            timeout_s=240)
            assert body["state"] == "succeeded", (body, logs.read_text()[-3000:])
            pids = _group_pids(run.procs)
            raylets |= _raylets(pids)
            listeners = _listeners(pids)
            assert listeners and all(addr.startswith(LOOPBACK) for addr, _, _ in listeners), listeners
        assert len(raylets) == 1, raylets  # one Ray for the process's lifetime

        created = run.client.post("/v1/searches", json={**SEARCH, "n_trials": 8}).json()
        wait_for(run.client, created["id"], lambda b: b["progress"]["complete"] >= 1, timeout_s=240)
        raylets_before = set(raylets)
        os.kill(raylets.pop(), signal.SIGKILL)
        body = wait_for(run.client, created["id"], lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
        assert body["state"] == "succeeded" and body["progress"]["complete"] == 8, (body, logs.read_text()[-3000:])
        trials = run.client.get(f"/v1/searches/{created['id']}/trials", params={"limit": 100}).json()["data"]
        assert all("interrupted" in t["error"] for t in trials if t["state"] == "FAIL"), trials
        again = run.client.post("/v1/searches", json=SMALL).json()  # and the next job runs on the new Ray
        body = wait_for(run.client, again["id"], lambda b: b["state"] not in ("queued", "running"), timeout_s=240)
        assert body["state"] == "succeeded", (body, logs.read_text()[-3000:])
        assert all(p.poll() is None for p in run.procs), logs.read_text()[-3000:]
        new = _raylets(_group_pids(run.procs))
        assert len(new) == 1 and not new & raylets_before, (new, raylets_before)


def test_sigterm_hands_the_search_back_and_exits_zero(database_url: str, tmp_path: Path) -> None:
    """SIGTERM to the process running jobs: exit code 0 at once, the search queued again with its running
    trials failed as interrupted, and the next start finishes it re-running those trials."""
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    with running_service(database_url, embedded, logs) as run:
        created = run.client.post("/v1/searches", json={**SEARCH, "n_trials": 6}).json()
        wait_for(run.client, created["id"], lambda b: b["progress"]["complete"] >= 1, timeout_s=240)
        started = time.monotonic()
        run.driver.send_signal(signal.SIGTERM)
        assert run.driver.wait(timeout=60) == 0, logs.read_text()[-3000:]
        assert time.monotonic() - started < 30
        if not embedded:
            body = run.client.get(f"/v1/searches/{created['id']}").json()
            assert body["state"] == "queued", body
    with service(database_url, embedded, logs) as client:
        body = wait_for(client, created["id"], lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
        assert body["state"] == "succeeded" and body["attempts"] == 2, (body, logs.read_text()[-3000:])
        trials = client.get(f"/v1/searches/{created['id']}/trials", params={"limit": 100}).json()["data"]
        interrupted = [t for t in trials if t["state"] == "FAIL"]
        assert all("interrupted" in t["error"] for t in interrupted), interrupted
        rerun = {t["spec_string"] for t in trials if t["state"] == "COMPLETE"}
        assert {t["spec_string"] for t in interrupted} <= rerun


def _read_load():
    spec = importlib.util.spec_from_file_location("read_load", ROOT / "benchmarks" / "read_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_200_concurrent_readers_during_a_search_get_no_error(database_url: str, tmp_path: Path) -> None:
    """200 clients polling one running search for 20 s: every request answered 200, the driver's heartbeat
    stays fresh and the search succeeds. (Latency figures: benchmarks/read_load.py, not a timed test.)"""
    load = _read_load()
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    with running_service(database_url, embedded, logs) as run:
        search_id = run.client.post("/v1/searches", json={**SEARCH, "n_trials": 6}).json()["id"]
        wait_for(run.client, search_id, lambda b: b["state"] == "running", timeout_s=120)
        with load.HeartbeatWatch(database_url) as beats:
            result = load.read_load(str(run.client.base_url), f"/v1/searches/{search_id}", clients=200,
                                    seconds=20, interval_s=1.0)
        body = wait_for(run.client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
    assert result.errors == [] and len(result.latencies_ms) >= 200 * 15, (result.errors[:10], logs.read_text()[-2000:])
    assert beats.ages and max(beats.ages) < 3.0, beats.ages  # NAS_STALE_AFTER_S here: never stale
    assert body["state"] == "succeeded", body
