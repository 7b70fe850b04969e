"""The C heap held steady for timing: freed activations stay mapped in the process, so a pass faults no pages."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

# in a fresh process, a 16-MiB tensor allocated and freed: how much freed memory glibc keeps in its heap (MiB;
# by default such a block is mmapped and unmapped on free, which the next pass then faults back in)
CHILD = """
import ctypes, torch
{setup}
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
a = torch.ones(1 << 22)
del a
print(libc.mallinfo2().fordblks >> 20)
"""


def _kept_mib(setup: str) -> int:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    out = subprocess.run([sys.executable, "-c", CHILD.format(setup=setup)], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return int(out.stdout.split()[-1])


def test_by_default_a_freed_activation_goes_back_to_the_kernel() -> None:
    assert _kept_mib("") < 16


def test_held_heap_keeps_freed_memory() -> None:
    assert _kept_mib("from workers.latency.heap import hold_freed_memory\nassert hold_freed_memory()") >= 16


def test_latency_measurement_holds_the_heap() -> None:
    setup = ("from tests.workers import tiny_spec\nfrom workers.latency import measure_latency\n"
             "measure_latency(tiny_spec(), warmup=1, repeats=2)")
    assert _kept_mib(setup) >= 16


def test_profiling_holds_the_heap() -> None:
    setup = ("from workers.latency.timing import Timing, timed\n"
             "timed([lambda: None], Timing(rounds=1, warmup=0, reference=False))")
    assert _kept_mib(setup) >= 16
