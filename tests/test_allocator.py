"""The job processes' allocator settings (mpralens.cli._allocator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import mpralens.cli
from mpralens.cli._allocator import keep_freed_memory

# Allocate, fill and free a 40 MiB array 30 times; print the page faults it took, and glibc's count
# of mapped bytes while an array is alive and of heap bytes after the last is freed (mallinfo2).
# 40 MiB is above glibc's largest dynamic mmap threshold (32 MiB), so by default each round maps
# new pages (and faults them in) and unmaps them.
ROUNDS = """
import ctypes, json, resource, sys
import numpy as np
from mpralens.cli._allocator import keep_freed_memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = Mallinfo2
applied = keep_freed_memory() if sys.argv[1] == "on" else False
faults = []
for _ in range(30):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(40 * 2**20 // 8)
    mapped = mallinfo2().hblkhd
    del a
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"applied": applied, "first_round_faults": faults[0],
                  "later_rounds_faults": sum(faults[1:]), "mapped_while_alive": mapped,
                  "heap_after_free": mallinfo2().arena}))
"""


def _rounds(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "GLIBC_TUNABLES")}
    env = {k: v for k, v in env.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_blocks_are_reused_instead_of_mapped_again():
    off, on = _rounds("off"), _rounds("on")
    assert on["applied"] is True
    mib = 2**20
    # By default the array is a mapping of its own, unmapped when freed ...
    assert off["mapped_while_alive"] >= 40 * mib and off["heap_after_free"] < 40 * mib, off
    # ... with the setting it is heap, and the heap keeps it for the next round.
    assert on["mapped_while_alive"] < mib and on["heap_after_free"] >= 40 * mib, on
    # So the rounds after the first fault in no new pages, where by default each faults in 40 MiB
    # again: 10240 faults of 4 KiB pages, or 20 of 2 MiB where the kernel gives transparent huge
    # pages to every mapping (THP "always", as on the CI machine).
    assert off["later_rounds_faults"] >= 29 * 20, off
    assert on["later_rounds_faults"] * 10 < off["later_rounds_faults"], (on, off)


@pytest.mark.parametrize(
    "environ",
    [
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"MALLOC_TRIM_THRESHOLD_": "0"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"},
        {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
    ],
)
def test_a_users_own_allocator_settings_are_left_alone(environ):
    assert keep_freed_memory(environ) is False


def test_the_command_line_sets_it_before_anything_else(monkeypatch):
    calls = []
    monkeypatch.setattr(mpralens.cli, "keep_freed_memory", lambda: calls.append(1))
    with pytest.raises(SystemExit):  # --version ends in the argument parser
        mpralens.cli.main(["--version"])
    assert calls == [1]
