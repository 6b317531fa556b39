"""The one seam between layerwise and its array library.

Every op reaches NumPy through ``xp`` so that a CuPy-backed ``xp`` can run the
same op code on a GPU later without touching layer code.

It also owns the BLAS thread policy.  On the small 2-core machines layerwise is
built for, OpenBLAS with 2 threads made a 32x256 @ 256x1024 matmul ~36x slower
than with 1 thread, while large GEMMs gain at most ~1.6x.  layerwise therefore
runs BLAS on **one thread by default**, set once at import through OpenBLAS's own
``*_set_num_threads`` entry point (a per-call limit would cost hundreds of
microseconds).  ``set_num_threads(n)`` changes it, like ``torch.set_num_threads``;
the environment variable ``LAYERWISE_NUM_THREADS`` overrides the default.

And it tunes glibc's ``malloc`` for array work (Linux with glibc only; see
``_tune_malloc``): by default glibc serves each block over ~1 MB with a fresh
``mmap`` and hands freed memory at the top of its heap back to the kernel, so
every new activation or gradient array of a training step page-faults again
(~480 faults for four 1 MB temporaries; LayerNorm forward + backward on a
2048x128 input went from ~4-7 ms to ~1.0-1.4 ms with the tuning).
``LAYERWISE_MALLOC=system`` leaves the allocator alone.
"""
from __future__ import annotations

import ctypes
import os
import sys

import numpy

xp = numpy

_DEFAULT_THREADS = 1
_blas = None          # (get_fn, set_fn) once found
_threads = None       # the last count we set, or None if BLAS could not be reached


def _find_openblas():
    """Locate the OpenBLAS that NumPy loaded and its thread get/set functions."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    names = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads")]
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in names:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return getter, setter
    return None


def set_num_threads(n: int) -> None:
    """Set the number of BLAS threads used by every op (like ``torch.set_num_threads``)."""
    global _blas, _threads
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if _blas is None:
        _blas = _find_openblas() or False
    if _blas:
        _blas[1](n)
        _threads = n


def get_num_threads() -> int:
    """The number of BLAS threads in use (1 by default in layerwise)."""
    if _blas:
        return int(_blas[0]())
    return _threads or int(os.environ.get("OMP_NUM_THREADS", 0) or 0) or (os.cpu_count() or 1)


def blas_info() -> str:
    """A one-line description of the BLAS thread setting, for benchmark headers."""
    return f"numpy {numpy.__version__}, OpenBLAS threads={get_num_threads()}" + (
        "" if _blas else " (BLAS thread control unavailable)")


set_num_threads(int(os.environ.get("LAYERWISE_NUM_THREADS", _DEFAULT_THREADS)))


# ---------------------------------------------------------------------------- the allocator
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
