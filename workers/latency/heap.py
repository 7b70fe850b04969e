"""The C heap held steady while timing: freed memory kept by the process instead of returned to the kernel.

glibc's malloc gives freed memory back to the kernel once the top of its heap holds more than its trim threshold,
and serves large blocks by mmap above a threshold it raises as such blocks are freed (both dynamic). Eager
PyTorch allocates every activation anew each pass, so a network whose activations cross those thresholds pays
fresh minor page faults every pass (618-945 per pass for one 8-ms network of the default space, 0 for most
others: ``benchmarks/heap_faults.py``), and their cost moves with the host's state rather than with the
network: its timings drifted 8% against the reference networks' over 90 s. Fixing both thresholds (``mallopt``, as ``MALLOC_TRIM_THRESHOLD_`` and
``MALLOC_MMAP_THRESHOLD_`` do at start-up) keeps the pages mapped, so a pass times the network (that network:
10-25% faster, the drift 2%). A deployment gets the same speed by setting those two variables.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_BYTES = 1 << 30  # keep up to 1 GiB of freed memory mapped
MMAP_BYTES = 32 << 20  # glibc's largest allowed mmap threshold on 64-bit: blocks below it come from the heap


@lru_cache(maxsize=1)
def hold_freed_memory() -> bool:
    """Fix glibc's trim and mmap thresholds for the rest of this process (once); False where the C library is
    not glibc (nothing changed: musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES))
