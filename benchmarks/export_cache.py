"""ONNX downloads before and after the export cache: the first download (a build), the next ones (kept), and
``--concurrent`` requests at once for one artifact not built yet (one build shared) and for one already kept.

    python benchmarks/export_cache.py [--zoo efficientnet_b0] [--concurrent 12]

Runs the app in-process (FastAPI's TestClient) over a temporary SQLite database and export directory; prints
seconds per request (min / median / max) and how many builds the cache ran.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from store.settings import Settings


def _timed(client: TestClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def _spread(seconds: list[float]) -> str:
    return f"{min(seconds):.3f} / {statistics.median(seconds):.3f} / {max(seconds):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zoo", default="efficientnet_b0")
    parser.add_argument("--concurrent", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}", export_dir=Path(tmp) / "exports",
                            export_queue=max(4, args.concurrent))
        with TestClient(create_app(settings)) as client:
            def scaled(phi: float) -> str:
                body = {"base": {"zoo": args.zoo}, "phi": phi}
                return client.post("/v1/scalings", json=body).json()["data"][0]["links"]["onnx"]

            first = scaled(0)
            print(f"first download (a build): {_timed(client, first):.3f} s")
            print(f"next downloads (kept), 5: {_spread([_timed(client, first) for _ in range(5)])}")
            fresh = scaled(1)
            with ThreadPoolExecutor(args.concurrent) as pool:
                shared = list(pool.map(lambda _: _timed(client, fresh), range(args.concurrent)))
                kept = list(pool.map(lambda _: _timed(client, fresh), range(args.concurrent)))
            print(f"{args.concurrent} at once, not built yet: {_spread(shared)}")
            print(f"{args.concurrent} at once, kept: {_spread(kept)}")
            print(f"builds: {client.app.state.exports.builds} (2 artifacts)")


if __name__ == "__main__":
    main()
