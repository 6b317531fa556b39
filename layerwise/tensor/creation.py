"""Creation functions, as torch's: ``tensor``, ``zeros``, ``arange``, ``rand``, ...

``tensor(data)`` copies and infers torch's dtype (bool → bool, int → int64, float → the
default float type); ``as_tensor`` and ``from_numpy`` share memory with a NumPy array where
they can.  The random ones draw from layerwise's generator (``layerwise/random.py``).
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as _dt
from ..device import as_device
from .core import Size, Tensor


def _infer_dtype(data):
    """torch's dtype for Python data: bool → bool, int → int64, float → default float."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return _dt.as_dtype(data.dtype)
    arr = np.asarray(data)
    if arr.dtype.kind == "b":
        return _dt.bool_
    if arr.dtype.kind in "iu":
        return _dt.int64
    if arr.dtype.kind == "f":
        return _dt.get_default_dtype()
    if arr.dtype.kind == "O" or arr.size == 0:
        return _dt.get_default_dtype()
    raise TypeError(f"tensor: can't build a tensor from data of type {arr.dtype}")


def _from_tensors(data):
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, Tensor) for d in data):
        return [_from_tensors(d) for d in data]
    if isinstance(data, Tensor):
        return data.array
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (dtype inferred as torch does)."""
    as_device(device)
    if isinstance(data, Tensor):
        data = data.array
    data = _from_tensors(data)
    d = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    return Tensor._wrap(np.array(data, dtype=d.np), requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    as_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.as_dtype(data.dtype)
        return Tensor._wrap(np.asarray(data, dtype=d.np))
    return tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (changes show in both)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    _dt.as_dtype(arr.dtype)
    return Tensor._wrap(arr)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (builtins.int, np.integer)) or s < 0:
            raise ValueError(f"size must be a sequence of non-negative ints, got {size}")
    return tuple(builtins.int(s) for s in size)


def _creator(fill):
    def make(*size, dtype=None, device=None, requires_grad=False, out=None):
        as_device(device)
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        return Tensor._wrap(fill(_size(size), d.np), requires_grad=requires_grad)
    return make


zeros = _creator(np.zeros)
ones = _creator(np.ones)
empty = _creator(np.empty)
zeros.__doc__ = "A tensor of zeros of the given size (default dtype float32)."
ones.__doc__ = "A tensor of ones of the given size (default dtype float32)."
empty.__doc__ = "An uninitialised tensor of the given size."


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(fill_value)
    return Tensor._wrap(np.full(_size((size,) if isinstance(size, builtins.int) else tuple(size)),
                                fill_value, d.np), requires_grad=requires_grad)


def _like(maker):
    def like(t, *, dtype=None, device=None, requires_grad=False):
        return maker(*t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start to end (exclusive): int64 for integer arguments, float32 otherwise."""
    as_device(device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    all_int = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
    d = _dt.as_dtype(dtype) if dtype is not None else (_dt.int64 if all_int else _dt.get_default_dtype())
    n = builtins.max(builtins.int(np.ceil((end - start) / step)), 0)
    arr = (start + step * np.arange(n, dtype=np.float64)) if not all_int else np.arange(start, end, step)
    return Tensor._wrap(arr.astype(d.np), requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return Tensor._wrap(np.linspace(start, end, steps).astype(d.np), requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return Tensor._wrap(np.eye(n, m, dtype=d.np), requires_grad=requires_grad)


def _random(draw):
    def make(*size, generator=None, dtype=None, device=None, requires_grad=False):
        from ..random import get_generator
        as_device(device)
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        return Tensor._wrap(draw(get_generator(generator), _size(size)).astype(d.np),
                            requires_grad=requires_grad)
    return make


rand = _random(lambda g, s: g.random(s))
randn = _random(lambda g, s: g.standard_normal(s))
rand.__doc__ = "Uniform samples on [0, 1)."
randn.__doc__ = "Standard normal samples."


def rand_like(t, *, dtype=None, generator=None):
    return rand(*t.shape, dtype=dtype or t.dtype, generator=generator)


def randn_like(t, *, dtype=None, generator=None):
    return randn(*t.shape, dtype=dtype or t.dtype, generator=generator)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    from ..random import get_generator
    as_device(device)
    if size is None and isinstance(high, (tuple, list, Size)):
        low, high, size = 0, low, high             # randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    return Tensor._wrap(get_generator(generator).integers(low, high, _size((size,) if isinstance(size, builtins.int) else tuple(size))).astype(d.np))


def randperm(n, *, generator=None, dtype=None, device=None) -> Tensor:
    from ..random import get_generator
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    return Tensor._wrap(get_generator(generator).permutation(n).astype(d.np))
