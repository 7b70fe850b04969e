"""``python -m api``: serve the REST API (``--with-driver``: and run jobs in the same process)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from pydantic import ValidationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL, else sqlite:///nas.db)")
    parser.add_argument("--with-driver", action="store_true",
                        help="also run a driver in this process (the embedded default: one command runs it all)")
    parser.add_argument("--data-root", help="allow dataset directories under this path (NAS_DATA_ROOT)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    args = parser.parse_args(argv)

    import logging

    import uvicorn

    from api.main import create_app
    from store.settings import Settings

    overrides = {k: v for k, v in (("database_url", args.database_url), ("data_root", args.data_root)) if v}
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        parser.exit(2, f"error: {err}\n")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    app = create_app(settings, with_driver=args.with_driver)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler it found; with
    # this one in place that second delivery is a no-op and a graceful stop exits 0 (the jobs were handed back).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
