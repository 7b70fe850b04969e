"""The README's main job: run the embedded service, search on digits through the REST API, save the best.

Starts ``python -m api --with-driver`` on 127.0.0.1 (a SQLite database under ./out/), queues a small search on
the built-in digits data with ``POST /v1/searches``, follows it with ``GET /v1/searches/{id}``, prints the
Pareto front (accuracy against measured latency), downloads the best architecture's standalone PyTorch code to
./out/ and checks it in a fresh interpreter (build_model(), one forward pass). Stops the service at the end.

    .venv/bin/python scripts/main_job.py [--trials 10] [--epochs 2] [--out out]
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


def check_code(path: Path) -> str:
    """Import the downloaded file in a fresh interpreter and run one forward pass."""
    probe = ("import importlib.util, sys, torch; s = importlib.util.spec_from_file_location('m', sys.argv[1]); "
             "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); net = m.build_model().eval(); "
             "print(tuple(net(torch.randn(1, *m.INPUT_SIZE)).shape))")
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=300,
                          check=True)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=float, default=0.5, help="fraction of digits used")
    parser.add_argument("--resolution", type=int, default=16, help="input size (digits are 8x8 images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baselines", default="micronet_m1,mobilenet_v2",
                        help="zoo networks trained beside the search, comma-separated (empty: none)")
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the search")
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

            best = search["best"]
            code = client.get(f"/v1/architectures/{best['id']}/code").raise_for_status()
            name = code.headers["content-disposition"].split('filename="', 1)[1].rstrip('"')
            path = out / name
            path.write_text(code.text)
            path.with_suffix(".json").write_text(json.dumps(best["spec"], indent=2) + "\n")
            print(f"\nbest (highest accuracy): trial {best['trial_number']}, accuracy {best['accuracy']:.4f}, "
                  f"latency {best['latency_ms']:.3f} ms, {best['params']:,} params, {best['macs']:,} MACs")
            print(f"saved {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
                  f"(+ .json spec); fresh-interpreter check: build_model() -> output shape {check_code(path)}")
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
