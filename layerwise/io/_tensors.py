"""Where io/ meets the Tensor core: the one place that turns host arrays read from a file into
Tensors, and Tensors into host arrays to write.

File formats are host data, so io/ reads and writes NumPy arrays.  The moves across the seam
are explicit: ``backend.asarray`` uploads an array to the array module behind the CPU device
(no copy when that module is NumPy), ``backend.to_numpy`` downloads one.  Nothing else in io/
touches a Tensor's ``array``; io/ needs the Tensor core only (``Tensor``, ``Parameter``,
``Size``), never ``layerwise.nn``.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Parameter, Size, Tensor, as_tensor

__all__ = ["Parameter", "Size", "Tensor", "is_tensor", "is_parameter", "to_tensor", "to_host"]


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def is_parameter(x) -> bool:
    return isinstance(x, Parameter)


def to_tensor(host_array, *, parameter: bool = False, requires_grad: bool = False) -> Tensor:
    """A Tensor (or Parameter) holding ``host_array``, sharing its memory where the CPU's
    array module is NumPy (a read-only or memory-mapped array stays so)."""
    t = as_tensor(backend.asarray(host_array))
    if parameter:
        return Parameter(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def to_host(x):
    """The host (NumPy) array of a Tensor's values, without a copy on the CPU."""
    return backend.to_numpy(x.array)
