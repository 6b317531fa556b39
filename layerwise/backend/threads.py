"""The BLAS thread policy.

On the small 2-core machines layerwise is built for, OpenBLAS with 2 threads made a
32x256 @ 256x1024 matmul ~36x slower than with 1 thread, while large GEMMs gain at most
~1.6x.  layerwise therefore runs BLAS on **one thread by default**, set once at import
through OpenBLAS's own ``*_set_num_threads`` entry point (a per-call limit would cost
hundreds of microseconds).  ``set_num_threads(n)`` changes it, like
``torch.set_num_threads``; the environment variable ``LAYERWISE_NUM_THREADS`` overrides
the default.  This is process-wide: it also applies to the user's own NumPy code.
"""
from __future__ import annotations

import ctypes
import os
import sys

import numpy

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


