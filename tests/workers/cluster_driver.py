"""The driver service (``python -m jobs``'s loop) for the multi-node tests and the cluster benchmark: it joins
the Ray cluster named by RAY_ADDRESS and serves DATABASE_URL until SIGTERM; ``--sleep S`` evaluates with the
stand-in of tests/workers/fake_eval.py (sleeping S seconds on the Ray node) instead of real training.

    RAY_ADDRESS=127.0.0.1:6379 DATABASE_URL=... python tests/workers/cluster_driver.py [--sleep 2]
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sleep", type=float, help="stand-in evaluation of this many seconds (default: real)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from jobs.service import Service
    from store.settings import Settings
    from tests.workers import fake_eval

    evaluate = None if args.sleep is None else functools.partial(fake_eval.fake_evaluate, sleep=args.sleep)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Service(Settings(), evaluate_fns={} if evaluate is None else {"search": evaluate}).serve(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
