"""NumPy on the host: the one named place for host-side array work.

Index arithmetic (positions, permutations, output sizes), data loading and file formats
work on host arrays whatever device a tensor lives on; their results reach a device only
through ``backend.asarray``.  Code outside ``layerwise/backend`` does not import NumPy (a
test forbids it): it says ``from ..backend import host`` and ``host.arange(n)``, so a reader
(and the strict backend's tests) can tell host work from device math.
"""
import numpy as _np


def __getattr__(name):
    return getattr(_np, name)


def __dir__():
    return dir(_np)
