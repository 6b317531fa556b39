"""The array seam: the one place that knows which array library holds a tensor's values.

Ops and layers never import NumPy.  They ask for the module of the arrays they hold, as
CuPy's ``get_array_module`` does, and call it:

    xp = get_array_module(x)          # numpy, the strict stand-in, or (later) cupy
    y = xp.exp(x)

Which library backs a device: the CPU uses NumPy, or with ``LAYERWISE_BACKEND=strict``
the stand-in of ``backend/strict.py``, whose arrays refuse every implicit conversion to
NumPy as CuPy's do, so a test run under it finds each place that reaches around the seam.

Moves between host and device are explicit: ``asarray(host_data, xp=...)`` uploads,
``to_numpy(a)`` downloads.  Host-side index arithmetic uses ``backend.host`` (NumPy, named
as such).  The few operations that differ between array libraries have one helper each
here (``ignore_float_errors``, ``scatter_add``, ``is_writeable``).

The package also owns the process-wide settings: the BLAS thread policy (``threads.py``)
and the malloc tuning (``malloc.py``).
"""
from __future__ import annotations

import contextlib
import os

import numpy as _numpy

from . import host
from .malloc import _glibc_version, allocator_info  # noqa: F401  (tests read _glibc_version)
from .strict import StrictArray, StrictConversionError, strict
from .threads import blas_info, get_num_threads, set_num_threads

__all__ = ["BACKEND", "cpu_module", "get_array_module", "module_for", "asarray", "to_numpy",
           "is_array", "ignore_float_errors", "scatter_add", "is_writeable", "host",
           "StrictArray", "StrictConversionError", "blas_info", "get_num_threads",
           "set_num_threads", "allocator_info"]

BACKEND = (os.environ.get("LAYERWISE_BACKEND") or "numpy").strip().lower()
if BACKEND not in ("numpy", "strict"):
    raise ImportError(f"LAYERWISE_BACKEND={BACKEND!r}: expected 'numpy' (the default) or 'strict'")

_CPU = strict if BACKEND == "strict" else _numpy


def cpu_module():
    """The array module behind the CPU device: NumPy, or the strict stand-in."""
    return _CPU


def get_array_module(*arrays):
    """The array module of ``arrays`` (the first device array decides); the CPU's if none is
    an array (Python scalars, None)."""
    for a in arrays:
        t = type(a)
        if t is StrictArray:
            return strict
        if t is _numpy.ndarray:
            return _numpy
    return _CPU


def module_for(device):
    """The array module for a ``layerwise.device`` (or its type string)."""
    kind = getattr(device, "type", device)
    if kind == "cpu":
        return _CPU
    raise RuntimeError(f"device {kind!r} has no array backend in this build of layerwise")


def is_array(obj) -> bool:
    """Whether ``obj`` is an array of one of the backends (a NumPy array included)."""
    return type(obj) in (_numpy.ndarray, StrictArray) or isinstance(obj, _numpy.ndarray)


def asarray(data, dtype=None, xp=None):
    """``data`` (host arrays, Python data, or device arrays) as an array of module ``xp``
    (default: the CPU's).  No copy where none is needed."""
    xp = xp or _CPU
    if xp is _numpy:
        if type(data) is StrictArray:
            data = data._a
        return _numpy.asarray(data, dtype=dtype)
    return xp.asarray(data, dtype=dtype)


def to_numpy(a):
    """A NumPy array with the values of ``a`` (the host itself for NumPy arrays: no copy)."""
    if type(a) is StrictArray:
        return a._a
    if isinstance(a, _numpy.ndarray):
        return a
    return _numpy.asarray(a)


def ignore_float_errors(xp):
    """A context in which inf/nan arise silently, as in torch (NumPy warns by default)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


def scatter_add(a, index, values):
    """``a[index] += values`` with repeated indices accumulated (``numpy.add.at``)."""
    get_array_module(a).add.at(a, index, values)


def is_writeable(a) -> bool:
    """False for read-only arrays (NumPy's broadcast views).  Device arrays are always
    writable; the strict stand-in answers as the NumPy array inside it would."""
    if type(a) is StrictArray:
        return bool(a._a.flags.writeable)
    flags = getattr(a, "flags", None)
    return bool(getattr(flags, "writeable", True))


# Kept for code that has not moved to get_array_module yet; it is removed once nothing
# outside the backend reads it (a test then forbids it).
xp = _CPU
