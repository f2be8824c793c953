"""glibc's allocator for a job process: freed memory kept for the next allocation.

glibc's ``malloc`` serves a block above its mmap threshold with a fresh ``mmap`` and unmaps it when
freed; it also hands the free top of its heap back to the kernel above its trim threshold. Both
thresholds start low (128 KiB), and the mmap one rises only as far as the largest block freed so
far, capped at 32 MiB. Training and interpreting a network allocate and free the same buffers of
megabytes to tens of megabytes (activations, gradients, a batch's inputs) for every batch, so each
batch maps new pages and the kernel zeroes every page on first touch. One epoch of Paggi et al.'s
CNN (100 filters, 18,600 tiles, one thread) took 1.8 million page faults and 3.7 s of system time
with glibc's defaults, 58,000 faults and 0.5 s with the thresholds below: 1.17-1.30x faster, the
same weights to the bit, peak memory 20-60 MB higher in most runs (``bench/allocator.py``).

:func:`keep_freed_memory` raises both thresholds, as ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` would, for the calling process. It leaves the allocator alone where a
user has tuned it (either variable, or ``GLIBC_TUNABLES`` naming ``glibc.malloc``), where another
allocator is preloaded (``LD_PRELOAD``: jemalloc, tcmalloc) and off glibc. Numbers are unchanged:
torch aligns its own buffers, and where a block comes from does not change what is computed in it.
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to 64 MiB come from the heap (32 MiB still left some of a CNN epoch's buffers mapped
# anew: 365,000 faults against 57,000); up to 256 MiB of free heap top is kept.
MMAP_THRESHOLD = 64 * 2**20
TRIM_THRESHOLD = 256 * 2**20

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "LD_PRELOAD")


def _glibc() -> bool:
    """Whether this process runs on glibc (not musl, macOS or Windows)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name here
        return False


def keep_freed_memory(environ: dict[str, str] | None = None) -> bool:
    """Raise glibc's mmap and trim thresholds for this process; return whether it did.

    Parameters
    ----------
    environ
        The environment to read the user's own settings from; default :data:`os.environ`.
    """
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in _USER_SETTINGS) or "glibc.malloc" in env.get(
        "GLIBC_TUNABLES", ""
    ):
        return False
    if not _glibc():
        return False
    try:
        # glibc is loaded in this process: look mallopt up among its symbols (find_library would
        # start ldconfig on every command).
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
