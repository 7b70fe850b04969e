"""Searches on a real multi-node Ray cluster (tests/workers/ray_nodes.py: separate ``ray start`` processes
with token authentication, loopback only), driven through RAY_ADDRESS with PostgreSQL, seen through the API:
trials spread over the nodes, a node killed mid-search fails its trial as "node died" and the search still
completes its budget, a node added mid-search receives trials, and a dataset directory that only the driver can
read reaches a node that cannot see it (through Ray's object store) for real training."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.workers import ray_nodes
from tests.workers.ray_nodes import LoopbackCluster

pytestmark = pytest.mark.skipif(bool(ray_nodes.available()), reason=ray_nodes.available() or "ok")
FAKE = {"baselines": [], "sampler": "random", "pruner": "none", "seed": 3, "training": {"epochs": 1}}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data-root")


@pytest.fixture(scope="module")
def api(postgres_url: str, data_root: Path) -> Iterator[tuple[TestClient, str]]:
    """The API over this run's PostgreSQL database, and that database's unix-socket URL for the driver."""
    from api.main import create_app

    settings = Settings(database_url=postgres_url, max_trials=50, max_concurrent_searches=100, poll_s=0.2,
                        heartbeat_s=0.5, stale_after_s=5.0, read_cache_s=0, data_root=data_root)
    with TestClient(create_app(settings)) as client:
        yield client, ray_nodes.unix_socket_url(postgres_url)


def _driver(cluster: LoopbackCluster, url: str, *args: str) -> None:
    proc = cluster.spawn([str(ray_nodes.BIN / "python"), str(ray_nodes.ROOT / "tests/workers/cluster_driver.py"),
                          *args], cluster.dir / "driver.log", RAY_ADDRESS=cluster.address, DATABASE_URL=url,
                         NAS_POLL_S="0.2", NAS_HEARTBEAT_S="0.5", NAS_STALE_AFTER_S="30")
    cluster.others.append(proc)


def _trials(client: TestClient, search_id: str) -> list[dict]:
    return client.get(f"/v1/searches/{search_id}/trials", params={"limit": 100}).json()["data"]


def _until(what: str, check: Callable[[], bool], cluster: LoopbackCluster, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            log = (cluster.dir / "driver.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"timed out waiting for {what}; driver log:\n{log}")
        time.sleep(0.3)


def _search(client: TestClient, search_id: str) -> dict:
    return client.get(f"/v1/searches/{search_id}").json()


def _assert_loopback_only(cluster: LoopbackCluster) -> None:
    """No process of the cluster listens in this machine's own network namespace, and in theirs only on
    loopback (the namespace has no other interface)."""
    pids = ray_nodes.subprocess.run(["ip", "netns", "pids", cluster.ns], capture_output=True, text=True,
                                    check=True).stdout.split()
    host = ray_nodes.subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    assert pids and not [line for line in host.splitlines() if any(f"pid={pid}," in line for pid in pids)]
    listening = cluster.listeners()
    assert listening and all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:")) or
                             a.split(":")[0] in ("*", "0.0.0.0", "[::]") for a in listening), listening
    # "*" is every interface of a namespace whose only interface is loopback:
    interfaces = cluster.exec_ok(["ip", "-o", "addr"]).splitlines()
    assert interfaces and all(line.split()[1] == "lo" for line in interfaces), interfaces


def test_trials_spread_survive_a_lost_node_and_reach_an_added_one(api: tuple[TestClient, str]) -> None:
    client, url = api
    with LoopbackCluster() as cluster:
        cluster.start_head()
        cluster.add_node("a")
        cluster.add_node("b")
        _driver(cluster, url, "--sleep", "3")
        created = client.post("/v1/searches", json={**FAKE, "n_trials": 16, "n_workers": 2})
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
        ids = cluster.node_ids()

        def ran_on(name: str) -> int:
            return sum(t["details"].get("node_id") == ids[name] for t in _trials(client, search_id))

        _until("trials on both nodes", lambda: ran_on("a") >= 1 and ran_on("b") >= 1, cluster)
        done_on_b = ran_on("b")
        _until("another trial done on b", lambda: ran_on("b") > done_on_b, cluster)
        time.sleep(1.0)  # both slots are always busy: b's only CPU took the next trial, 1 s into its 3 s
        cluster.kill_node("b")
        cluster.add_node("c")
        ids.update(cluster.node_ids())  # a dead node is listed without its resources: keep what b was
        _until("a trial done on c", lambda: ran_on("c") >= 1, cluster)
        _until("the search to finish", lambda: _search(client, search_id)["state"] in ("succeeded", "failed"),
               cluster, timeout_s=180)
        body = _search(client, search_id)
        trials = _trials(client, search_id)
        _assert_loopback_only(cluster)

    assert body["state"] == "succeeded", body
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    assert len(complete) == 16  # the budget, despite the lost trial
    nodes = {t["details"]["node_id"] for t in complete}
    assert {ids["a"], ids["b"], ids["c"]} <= nodes and ids["head"] not in nodes  # the head has no CPUs
    failed = [t for t in trials if t["state"] == "FAIL"]
    assert len(failed) == 1 and failed[0]["error"].startswith("node died"), [t["error"] for t in failed]


def _image_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in range(2):
        (root / f"class{label}").mkdir(parents=True)
        for i in range(16):
            pixels = rng.integers(0, 80, (12, 12), dtype=np.uint8) + 150 * label
            Image.fromarray(pixels.astype(np.uint8)).save(root / f"class{label}" / f"{i}.png")


def test_a_node_that_cannot_see_the_dataset_trains_on_it_and_one_without_the_token_cannot_join(
        api: tuple[TestClient, str], data_root: Path) -> None:
    client, url = api
    data = data_root / "private"
    _image_folder(data)
    with LoopbackCluster() as cluster:
        cluster.start_head()
        with pytest.raises(RuntimeError, match="InvalidAuthToken"):  # Ray's answer, in the node's log
            cluster.add_node("intruder", RAY_AUTH_TOKEN="0" * 64, RAY_NUM_REDIS_GET_RETRIES="2")
        cluster.add_node("blind", hide=data_root)  # the data root is an empty directory there
        seen = ray_nodes.subprocess.run(["nsenter", "--mount", f"--target={cluster.nodes['blind'].proc.pid}", "ls",
                                         "-A", str(data_root)], capture_output=True, text=True)
        assert seen.returncode == 0 and seen.stdout == "", seen  # there, the dataset's directory is empty
        _driver(cluster, url)
        created = client.post("/v1/searches", json={
            "dataset": {"source": str(data), "val_fraction": 0.25}, "n_trials": 2, "n_workers": 1,
            "baselines": [], "sampler": "random", "pruner": "none", "seed": 1,
            "training": {"epochs": 1, "batch_size": 8, "bn_calibration": 16},
            "latency": {"warmup": 1, "repeats": 3, "window_s": 0}})
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
        _until("the search to finish", lambda: _search(client, search_id)["state"] in ("succeeded", "failed"),
               cluster, timeout_s=240)
        body, trials, ids = _search(client, search_id), _trials(client, search_id), cluster.node_ids()
        _assert_loopback_only(cluster)
    assert body["state"] == "succeeded", body
    assert [t["state"] for t in trials] == ["COMPLETE", "COMPLETE"], [t["error"] for t in trials]
    for trial in trials:  # really trained there: measured accuracy and latency, on the blind node
        assert trial["details"]["node_id"] == ids["blind"]
        assert 0.0 <= trial["accuracy"] <= 1.0 and trial["latency_ms"] > 0
        assert trial["details"]["train_seconds"] > 0

