"""How long the web UI's search page takes to render a search of many trials, in headless Chromium.

    .venv/bin/python benchmarks/ui_render.py [--trials 500] [--loads 5] [--chromium /usr/bin/chromium]

Starts the API (no driver) on a fresh SQLite file, stores one finished search with ``--trials`` trials of
random proxy-space architectures (random accuracy and latency, the driver's own ``crud.record_trial``), then
opens ``/#/search/<id>`` ``--loads`` times and prints, for each load, the milliseconds from navigation start
until the page has drawn the summary, the Pareto scatter (every trial a point), the charts and the first page
of the trial table.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.service_process import API, ROOT, free_port
from tests.ui.conftest import CHROMIUM_ARGS


def store_search(url: str, trials: int) -> str:
    import optuna

    from searchspace.space import PROXY_SPACE, sample
    from store import crud
    from store.db import migrate, session_scope
    from workers.search import SearchConfig, TrialRecord

    migrate(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rng = random.Random(0)
    with session_scope(url) as session:
        search = crud.create_search(session, config=SearchConfig(n_trials=trials), name=f"{trials} trials",
                                    max_active=10)
        search.state = "succeeded"
        for number in range(trials):
            spec = sample(study.ask(), PROXY_SPACE)
            latency = rng.uniform(0.5, 5.0)
            record = TrialRecord(number=number, state="COMPLETE", accuracy=min(0.99, rng.gauss(0.6, 0.1) + latency / 20),
                                 latency_ms=latency, macs=rng.randint(10**6, 10**8), params=rng.randint(10**4, 10**6),
                                 spec_key=spec.to_string(), epoch_accuracies=[0.5])
            crud.record_trial(session, search_id=search.id, record=record)
        return str(search.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/ui.db"
        search_id = store_search(url, args.trials)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url}
        api = subprocess.Popen([*API, "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/v1/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                times = []
                for _ in range(args.loads):
                    page.goto(f"{base}/?{uuid.uuid4().hex}#/search/{search_id}")
                    page.wait_for_function(f"document.querySelector('#app').dataset.rendered === '{args.trials}'",
                                           timeout=30_000)
                    times.append(page.evaluate("performance.now()"))
                    if os.environ.get("UI_RENDER_TRACE"):
                        for name, start, end in page.evaluate("""performance.getEntriesByType('resource')
                                .map(e => [e.name, e.startTime, e.responseEnd])"""):
                            print(f"  {start:6.0f} {end:6.0f} {name[len(base):][:70]}")
                    assert page.locator("#pareto circle.pt").count() == args.trials
                    assert page.locator("#trials tbody tr").count() == min(args.trials, 25)  # its first page
                browser.close()
        finally:
            api.terminate()
            api.wait(timeout=30)
    print(f"search page, {args.trials} trials: " + ", ".join(f"{t:.0f}" for t in times)
          + f" ms (median {statistics.median(times):.0f} ms, first load {times[0]:.0f} ms)")


if __name__ == "__main__":
    main()
