"""A driver started by another process (the embedded API) ends with it, even if that process is killed."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_ENV = "NAS_DRIVER_PARENT_PID"  # set by the process that started this driver
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGTERM this process when the one named in ``NAS_DRIVER_PARENT_PID`` dies (Linux); no-op elsewhere."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
