"""Creation functions, as torch's: ``tensor``, ``zeros``, ``arange``, ``rand``, ...

``tensor(data)`` copies and infers torch's dtype (bool → bool, int → int64, float → the
default float type); ``as_tensor`` and ``from_numpy`` share memory with a NumPy array where
they can.  Arrays are built by the CPU's array module (``backend.cpu_module()``); the random
functions draw on the host from layerwise's generator (``layerwise/random.py``) and move the
values explicitly (``backend.asarray``).
"""
from __future__ import annotations

import builtins
import math

from .. import dtypes as _dt
from ..backend import asarray, cpu_module, get_array_module, host, is_array, to_numpy
from ..device import as_device
from ..random import get_generator
from .core import Size, Tensor

_HOST_INTEGER, _HOST_SCALAR = host.integer, host.generic     # looked up once


def _infer_dtype(data):
    """torch's dtype for Python data: bool → bool, int → int64, float → default float."""
    if is_array(data) or isinstance(data, _HOST_SCALAR):
        return _dt.as_dtype(data.dtype)
    arr = host.asarray(data)
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
    """Nested lists holding Tensors, with each Tensor's values on the host (it is Python
    data, read element by element)."""
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, Tensor) for d in data):
        return [_from_tensors(d) for d in data]
    if isinstance(data, Tensor):
        return to_numpy(data.array)
    return data


def _on_cpu(arr):
    """An array of the CPU's array module sharing memory with the array ``arr`` (a NumPy
    array on the NumPy backend is ``arr`` itself, subclasses such as memmap included)."""
    return arr if get_array_module(arr) is cpu_module() else asarray(arr)


def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (dtype inferred as torch does)."""
    as_device(device)
    if isinstance(data, Tensor):
        data = data.array
    data = _from_tensors(data)
    d = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    return Tensor._wrap(cpu_module().array(data, dtype=d.np), requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    as_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if is_array(data):
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.as_dtype(data.dtype)
        return Tensor._wrap(asarray(data, dtype=d.np))
    return tensor(data, dtype=dtype)


def from_numpy(arr) -> Tensor:
    """A tensor sharing memory with the NumPy array ``arr`` (changes show in both)."""
    if not isinstance(arr, host.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    _dt.as_dtype(arr.dtype)
    return Tensor._wrap(_on_cpu(arr))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (builtins.int, _HOST_INTEGER)) or s < 0:
            raise ValueError(f"size must be a sequence of non-negative ints, got {size}")
    return tuple(builtins.int(s) for s in size)


def _creator(fill):
    """A creation function of a size, filled by the CPU module's function ``fill``."""
    def make(*size, dtype=None, device=None, requires_grad=False, out=None):
        as_device(device)
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        return Tensor._wrap(getattr(cpu_module(), fill)(_size(size), dtype=d.np),
                            requires_grad=requires_grad)
    make.__name__ = make.__qualname__ = fill
    return make


zeros = _creator("zeros")
ones = _creator("ones")
empty = _creator("empty")
zeros.__doc__ = "A tensor of zeros of the given size (default dtype float32)."
ones.__doc__ = "A tensor of ones of the given size (default dtype float32)."
empty.__doc__ = "An uninitialised tensor of the given size."


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(fill_value)
    shape = _size((size,) if isinstance(size, builtins.int) else tuple(size))
    return Tensor._wrap(cpu_module().full(shape, fill_value, dtype=d.np), requires_grad=requires_grad)


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
    all_int = all(isinstance(v, (builtins.int, _HOST_INTEGER)) for v in (start, end, step))
    d = _dt.as_dtype(dtype) if dtype is not None else (_dt.int64 if all_int else _dt.get_default_dtype())
    xp = cpu_module()
    if all_int:
        arr = xp.arange(start, end, step)
    else:                       # start + step·i in float64, as many as fit before end
        n = builtins.max(builtins.int(math.ceil((end - start) / step)), 0)
        arr = float(start) + float(step) * xp.arange(n, dtype=_dt.float64.np)
    return Tensor._wrap(arr.astype(d.np), requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return Tensor._wrap(cpu_module().linspace(start, end, steps).astype(d.np), requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    return Tensor._wrap(cpu_module().eye(n, m, dtype=d.np), requires_grad=requires_grad)


def _random(draw):
    """A random creation function: ``draw(host generator, size)`` on the host, then moved."""
    def make(*size, generator=None, dtype=None, device=None, requires_grad=False):
        as_device(device)
        d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        values = draw(get_generator(generator), _size(size)).astype(d.np)
        return Tensor._wrap(asarray(values), requires_grad=requires_grad)
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
    as_device(device)
    if size is None and isinstance(high, (tuple, list, Size)):
        low, high, size = 0, low, high             # randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    shape = _size((size,) if isinstance(size, builtins.int) else tuple(size))
    return Tensor._wrap(asarray(get_generator(generator).integers(low, high, shape).astype(d.np)))


def randperm(n, *, generator=None, dtype=None, device=None) -> Tensor:
    as_device(device)
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    return Tensor._wrap(asarray(get_generator(generator).permutation(n).astype(d.np)))


def multinomial(probs, num_samples, replacement=False, *, generator=None):
    """Draw category indices from (unnormalised) probabilities, per row (on the host)."""
    g = get_generator(generator)
    p = to_numpy(probs.array).astype(_dt.float64.np)
    if (p < 0).any() or not host.isfinite(p).all():
        raise RuntimeError("multinomial: probabilities must be finite and non-negative")
    rows = p.reshape(-1, p.shape[-1])
    out = host.stack([g.choice(rows.shape[1], size=num_samples, replace=replacement, p=r / r.sum())
                      for r in rows]).astype(_dt.int64.np)
    return Tensor._wrap(asarray(out.reshape(p.shape[:-1] + (num_samples,))))
