"""``python -m jobs``: run a driver that claims queued jobs from the service database and runs them on Ray."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__)
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL, else sqlite:///nas.db)")
    parser.add_argument("--jobs", type=int, help="jobs run at once (default: NAS_DRIVER_JOBS, else 1)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    args = parser.parse_args(argv)

    from jobs.lifetime import die_with_parent
    from jobs.service import main as serve
    from store.settings import Settings

    die_with_parent()

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("database_url", args.database_url), ("driver_jobs", args.jobs)) if v}
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        parser.exit(2, f"error: {err}\n")
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
