"""A full-fidelity run for the kill-and-resume test: tiny spec, digits at 8 px, pausing SLEEP seconds after each
epoch's checkpoint so that the test can kill it between epochs or inside one.

    python tests/workers/fullfit_child.py CHECKPOINT EPOCHS SLEEP
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    from tests.workers import tiny_spec
    from tests.workers.test_fullfit import KILL_DATA, kill_recipe
    from workers.training import fit

    path, epochs, sleep = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    fit(tiny_spec(resolution=8), KILL_DATA, kill_recipe(epochs), checkpoint=path, threads=1,
        on_epoch=lambda _record: time.sleep(sleep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
