"""glibc's malloc, tuned for array work (Linux with glibc only; see ``_tune_malloc``).

By default glibc serves each block over ~1 MB with a fresh ``mmap`` and hands freed memory
at the top of its heap back to the kernel, so every new activation or gradient array of a
training step page-faults again (~480 faults for four 1 MB temporaries; LayerNorm forward +
backward on a 2048x128 input went from ~4-7 ms to ~1.0-1.4 ms with the tuning).
``LAYERWISE_MALLOC=system`` leaves the allocator alone.  Process-wide, like the BLAS threads.
"""
from __future__ import annotations

import ctypes
import os
import sys

_MMAP_THRESHOLD = 32 << 20     # blocks below this come from the heap (glibc's 64-bit maximum)
_TRIM_THRESHOLD = 256 << 20    # free memory kept at the heap's top instead of returned
_malloc_tuned = None           # a description of what _tune_malloc did


def _glibc_version():
    """'glibc 2.36' when the C library is glibc, else None (musl, macOS, Windows)."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    return version if version and version.startswith("glibc") else None


def _tune_malloc():
    """Keep freed array memory in the process instead of giving it back to the kernel.

    Why: glibc serves large blocks with ``mmap`` and trims its heap eagerly, so a training
    loop that allocates and frees the same few-MB temporaries every step pays a page fault
    per 4 KB page, every step.  ``mallopt(M_MMAP_THRESHOLD, 32 MiB)`` serves blocks up to
    32 MiB from the heap (it also stops glibc's own threshold adjusting), and
    ``mallopt(M_TRIM_THRESHOLD, 256 MiB)`` lets up to 256 MiB of freed memory stay there for
    reuse.  The cost: the process's resident memory stays near its peak.  Skipped off glibc,
    when ``LAYERWISE_MALLOC=system``, or when the user set glibc's own MALLOC_*_ variables.
    """
    global _malloc_tuned
    if os.environ.get("LAYERWISE_MALLOC", "").lower() == "system":
        _malloc_tuned = "system default (LAYERWISE_MALLOC=system)"
        return
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        _malloc_tuned = "system default (MALLOC_*_ set in the environment)"
        return
    if not sys.platform.startswith("linux") or not _glibc_version():
        _malloc_tuned = "system default (not glibc)"
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        _malloc_tuned = "system default (mallopt unavailable)"
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3          # from glibc's <malloc.h>
    ok = mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    _malloc_tuned = (f"glibc malloc: mmap threshold {_MMAP_THRESHOLD >> 20} MiB, trim threshold "
                     f"{_TRIM_THRESHOLD >> 20} MiB" if ok else "system default (mallopt refused)")


def allocator_info() -> str:
    """A one-line description of the memory-allocator setting, for benchmark headers."""
    return _malloc_tuned


_tune_malloc()
