"""The README's main job: run the embedded service, search on digits through the REST API, finalize the found
front at full fidelity and save the best trained model with its weights.

Starts ``python -m api --with-driver`` on 127.0.0.1 (a SQLite database and the trained networks under ./out/),
queues a small search on the built-in digits data with ``POST /v1/searches``, follows it with
``GET /v1/searches/{id}``, prints the Pareto front (accuracy against measured latency), then finalizes it
(``POST /v1/searches/{id}/finalize``: its front and its baselines trained with a small full-fidelity recipe),
prints every network's proxy and held-out test accuracy and the proxy truth, downloads the most accurate trained
front member's standalone .py and its weights (.safetensors) to ./out/ and checks, in a fresh interpreter that
imports only torch, that they reproduce the reported test accuracy on the held-out test split. Stops the service
at the end.

    .venv/bin/python scripts/main_job.py [--trials 10] [--epochs 2] [--top-k 3] [--full-epochs 5] [--out out]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(port: int, out: Path) -> subprocess.Popen[bytes]:
    log = (out / "service.log").open("ab")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    command = [sys.executable, "-m", "api", "--with-driver", "--host", "127.0.0.1", "--port", str(port),
               "--database-url", f"sqlite:///{(out / 'nas.db').resolve()}"]
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def wait_ready(client: httpx.Client, service: subprocess.Popen[bytes], timeout_s: float = 180) -> dict[str, Any]:
    """Until /v1/healthz answers with a live driver."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited with {service.returncode}; see out/service.log")
        try:
            health = client.get("/v1/healthz").json()
            if health.get("drivers", 0) > 0:
                return health
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the service did not become ready in {timeout_s:.0f} s; see out/service.log")


def follow(client: httpx.Client, search_id: str, timeout_s: float) -> dict[str, Any]:
    """Poll the search until it ends, printing its progress whenever it changes."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        search = client.get(f"/v1/searches/{search_id}").raise_for_status().json()
        p, best = search["progress"], search["best"]
        line = (f"  {search['state']:<9} {p['complete'] + p['pruned']}/{p['budget']} trained "
                f"({p['complete']} complete, {p['pruned']} pruned, {p['failed']} failed)"
                + (f", best accuracy {best['accuracy']:.3f}" if best else ""))
        if line != last:
            print(f"{search['elapsed_s'] or 0:6.1f}s{line}", flush=True)
            last = line
        if search["state"] not in ("queued", "running"):
            return search
        time.sleep(1.0)
    raise SystemExit(f"the search did not finish in {timeout_s:.0f} s")


def pareto_table(rows: list[dict[str, Any]]) -> str:
    from searchspace.table import format_table

    body = [[a["trial_number"], f"{a['accuracy']:.4f}", f"{a['latency_ms']:.3f}", f"{a['macs']:,}",
             f"{a['params']:,}", a["spec_string"][:90]] for a in rows]
    return format_table(["trial", "accuracy", "latency ms", "MACs", "params", "architecture"], body)


def baselines_table(rows: list[dict[str, Any]]) -> str:
    """The zoo baselines beside the front: measurements and whether the front dominates each."""
    from searchspace.table import format_table

    def verdict(b: dict[str, Any]) -> str:
        if b["dominated"] is None:
            return b["state"].lower()
        return f"yes (trial {b['dominated_by']})" if b["dominated"] else "no"

    body = [[b["name"], b["architecture"]["accuracy"], b["architecture"]["latency_ms"], b["architecture"]["macs"],
             b["width"], verdict(b)] for b in rows]
    return format_table(["baseline", "accuracy", "latency ms", "MACs", "width", "dominated by the front"], body)


FRESH = """
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("model", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.load_model(sys.argv[2])
x, y = torch.load(sys.argv[3], weights_only=True)
with torch.inference_mode():
    accuracy = float((model(x).argmax(1) == y).float().mean())
others = sorted({m.split(".")[0] for m in sys.modules} & {"searchspace", "workers", "api", "scaler", "safetensors"})
print(json.dumps({"accuracy": accuracy, "mean": list(module.INPUT_MEAN), "std": list(module.INPUT_STD),
                  "others": others}))
"""


def check_trained(code: Path, weights: Path, trained: dict[str, Any], subset: float, out: Path) -> float:
    """The test accuracy the downloaded .py and weights give in a fresh interpreter that imports only torch, on
    the held-out test split normalised with the file's own statistics (checked against the training split's)."""
    import torch

    from workers.data import DatasetConfig

    split = DatasetConfig(source="digits", subset=subset).load(trained["spec"]["resolution"], 1, test=True)
    data = out / "test_split.pt"
    torch.save((split.x_test, split.y_test), data)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of this project importable
    done = subprocess.run([sys.executable, "-c", FRESH, str(code), str(weights), str(data)], capture_output=True,
                          text=True, timeout=300, check=False, cwd=out, env=env)
    data.unlink()
    if done.returncode != 0:
        raise SystemExit(f"the trained model does not load with torch alone:\n{done.stderr[-2000:]}")
    fresh = json.loads(done.stdout)
    if fresh["others"] or fresh["mean"] != list(split.mean) or fresh["std"] != list(split.std):
        raise SystemExit(f"the fresh interpreter imported {fresh['others']} or its input statistics differ: {fresh}")
    return fresh["accuracy"]


def follow_finalize(client: httpx.Client, finalize_id: str, timeout_s: float) -> dict[str, Any]:
    """Poll the finalize until it ends, printing every network's epochs whenever they change."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        job = client.get(f"/v1/finalizes/{finalize_id}").raise_for_status().json()
        networks = (job["result"] or {}).get("networks", [])
        line = ", ".join(f"{n['name']} {len(n['epochs'])}/{n['epochs_total'] or '?'}" for n in networks)
        if line != last:
            print(f"{job['elapsed_s'] or 0:6.1f}s  {job['state']:<9} {line or 'starting'}", flush=True)
            last = line
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(1.0)
    raise SystemExit(f"the finalize did not finish in {timeout_s:.0f} s")


def finalize_table(networks: list[dict[str, Any]]) -> str:
    from searchspace.table import format_table

    body = [[n["name"], n["proxy_accuracy"], n["val_accuracy"], n["test_accuracy"], n["latency_ms"], n["macs"],
             len(n["epochs"]), n["error"] or ""] for n in networks]
    return format_table(["network", "proxy acc", "full val acc", "full test acc", "search latency ms", "MACs",
                         "epochs", "error"], body)


def finalize(client: httpx.Client, search_id: str, args: argparse.Namespace, out: Path) -> None:
    """Finalize the search's front at full fidelity, print the proxy truth, save and check the best trained model."""
    body = {"top_k": args.top_k, "baselines": True, "workers": args.workers, "subset": args.subset,
            "recipe": {"epochs": args.full_epochs, "resolution": args.resolution, "batch_size": 64,
                       "warmup_epochs": 0.5, "bn_calibration": 256, "crop_scale": 0.8, "auto_augment": "none"}}
    print(f"\nPOST /v1/searches/{search_id}/finalize " + json.dumps(body), flush=True)
    created = client.post(f"/v1/searches/{search_id}/finalize", json=body)
    if created.status_code != 201:
        raise SystemExit(f"finalize refused ({created.status_code}): {created.text}")
    job = follow_finalize(client, created.json()["id"], args.timeout)
    if job["state"] != "succeeded":
        raise SystemExit(f"finalize {job['state']}: {job['error']}")
    networks = job["result"]["networks"]
    print("\nfull fidelity (proxy: the search's validation accuracy; full: the recipe's, test on held-out digits):")
    print(finalize_table(networks))
    truth = job["proxy_truth"]
    print(f"{truth['agreement_sentence']}\n{truth['dominance_sentence']}")
    trained = [n for n in networks if n["kind"] == "trial" and n["error"] is None and n["architecture_id"]]
    best = max(trained, key=lambda n: (n["test_accuracy"], -n["macs"]))
    architecture = client.get(f"/v1/architectures/{best['architecture_id']}").raise_for_status().json()
    saved = []
    for link, suffix in (("code", ".py"), ("weights", ".safetensors")):
        response = client.get(architecture["links"][link], params={"weights": "trained"}).raise_for_status()
        path = out / f"best_trained{suffix}"
        path.write_bytes(response.content)
        saved.append(path)
    reproduced = check_trained(saved[0], saved[1], architecture["trained"], args.subset, out)
    shown = ", ".join(str(p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p) for p in saved)
    print(f"\nbest trained front member: {best['name']}, proxy accuracy {best['proxy_accuracy']:.4f}, test accuracy "
          f"{architecture['test_accuracy']:.4f} ({architecture['trained']['test_size']} held-out images)")
    print(f"saved {shown}; fresh interpreter with only torch: load_model() -> test accuracy {reproduced:.4f}")
    if reproduced != architecture["test_accuracy"]:
        raise SystemExit(f"the saved model gives {reproduced}, not the reported {architecture['test_accuracy']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=float, default=0.5, help="fraction of digits used (search and finalize; "
                        "the test split is always whole)")
    parser.add_argument("--resolution", type=int, default=16, help="input size (digits are 8x8 images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baselines", default="micronet_m1,mobilenet_v2",
                        help="zoo networks trained beside the search, comma-separated (empty: none)")
    parser.add_argument("--top-k", type=int, default=3, help="front members the finalize trains at full fidelity")
    parser.add_argument("--full-epochs", type=int, default=5, help="epochs of the finalize's recipe")
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the search, the finalize")
    args = parser.parse_args(argv)

    started = time.monotonic()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    print(f"starting the service (API + driver) on http://127.0.0.1:{port}, database {out / 'nas.db'}", flush=True)
    service = start_service(port, out)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            wait_ready(client, service)
            body = {
                "name": "readme-digits",
                "dataset": {"source": "digits", "subset": args.subset},
                "space": {"skeleton": "proxy", "resolutions": [args.resolution]},
                "objective": "latency", "mode": "pareto",
                "baselines": [name for name in args.baselines.split(",") if name],
                "n_trials": args.trials, "n_workers": args.workers, "seed": args.seed,
                "training": {"epochs": args.epochs, "batch_size": 32},
                "latency": {"warmup": 5, "repeats": 20},
            }
            print("POST /v1/searches " + json.dumps(body), flush=True)
            created = client.post("/v1/searches", json=body)
            if created.status_code != 201:
                raise SystemExit(f"search refused ({created.status_code}): {created.text}")
            search_id = created.json()["id"]
            print(f"search {search_id} queued; following it", flush=True)
            search = follow(client, search_id, args.timeout)
            if search["state"] != "succeeded":
                raise SystemExit(f"search {search['state']}: {search['error']}")

            front = client.get(f"/v1/searches/{search_id}/pareto").raise_for_status().json()["data"]
            print(f"\nPareto front ({len(front)} of {search['progress']['complete']} completed trials; "
                  "accuracy on held-out digits, latency: batch 1, 1 thread, median):")
            print(pareto_table(front))
            baselines = client.get(f"/v1/searches/{search_id}/baselines").raise_for_status().json()["data"]
            if baselines:
                print("\nbaselines (zoo networks fitted to the same data, trained with the same budget):")
                print(baselines_table(baselines))

            finalize(client, search_id, args, out)
    finally:
        if service.poll() is None:
            os.killpg(service.pid, signal.SIGTERM)
            try:
                service.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(service.pid, signal.SIGKILL)
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
