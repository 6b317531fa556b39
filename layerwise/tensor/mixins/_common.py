"""What the mixin modules share: dims, operands and torch's promotion before an op is applied.

Array work goes through the array module of the tensors at hand (``get_array_module``);
shape arithmetic is host work (``backend.host``).
"""
from __future__ import annotations

import builtins
import numbers

from ... import dtypes as _dt
from ...backend import get_array_module, host, ignore_float_errors

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists

SCALAR_TYPES = (numbers.Number, host.generic)
"""What counts as a scalar operand: Python numbers and NumPy scalars."""

HOST_ARRAY, HOST_INTEGER, HOST_BOOL, HOST_DTYPE = host.ndarray, host.integer, host.bool_, host.dtype
"""NumPy's array, integer, bool and dtype types, looked up once (``backend.host`` resolves
each attribute on access)."""

broadcast_shape = host.broadcast_shapes
"""The broadcast of some shapes (host shape arithmetic); ValueError if there is none."""


def wrap_dim(dim, ndim, op="op"):
    """``dim`` as a non-negative axis of an ``ndim``-d tensor (a 0-d tensor takes 0 and -1)."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def is_sequence_or_host_array(v) -> bool:
    """Data that must be wrapped with ``lw.tensor(...)`` before it can be an operand."""
    return isinstance(v, (list, tuple, HOST_ARRAY))


def operand(v, d: _dt.dtype, like) -> "Tensor":
    """A Tensor of dtype ``d`` for a Tensor or scalar operand; a scalar becomes a 0-d array of
    the array module of ``like`` (the array it meets)."""
    if isinstance(v, Tensor):
        return v._cast(d)
    if isinstance(v, SCALAR_TYPES):
        xp = get_array_module(like)
        if d.np.kind in "iu" and isinstance(v, numbers.Integral) and not isinstance(v, bool):
            # an out-of-range Python int wraps into the tensor's integer type, as in torch
            return Tensor._wrap(xp.asarray(v, dtype=_dt.int64.np).astype(d.np))
        with ignore_float_errors(xp):               # 1e300 in float32 is inf, silently
            return Tensor._wrap(xp.asarray(v, dtype=d.np))
    if is_sequence_or_host_array(v):
        raise TypeError(f"expected a Tensor or a number, got {type(v).__name__}; wrap it with "
                        "lw.tensor(...)")
    raise TypeError(f"unsupported operand of type {type(v).__name__}")


def check_operands(name, a, b):
    """At least one Tensor, and only Tensors or numbers: one sentence naming the function."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected at least one Tensor")
    for v in (a, b):
        if not isinstance(v, (Tensor,) + SCALAR_TYPES):
            raise TypeError(f"{name}: expected a Tensor or a number, got {type(v).__name__}"
                            + ("; wrap it with lw.tensor(...)" if is_sequence_or_host_array(v) else ""))


def binary(op, name, a, b, *, float_out=False, **options):
    """``op.apply(a, b)`` after torch's promotion of both operands and a broadcast check."""
    check_operands(name, a, b)
    d = (_dt.float_result_type if float_out else _dt.result_type)(a, b)
    like = (a if isinstance(a, Tensor) else b).array
    ta, tb = operand(a, d, like), operand(b, d, like)
    try:
        broadcast_shape(ta.array.shape, tb.array.shape)
    except ValueError:
        raise RuntimeError(f"{name}: the shapes {tuple(ta.shape)} and {tuple(tb.shape)} cannot be "
                           "broadcast together") from None
    return op.apply(ta, tb, **options)


def as_float_input(x, name):
    """Unary float math on an integer tensor gives the default float type, as torch does."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return x if x.is_floating_point() else x._cast(_dt.get_default_dtype())


def require_float(x, name):
    if not x.is_floating_point():
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be a floating "
                           f"point type, got {x.dtype}; convert with .float() first")


def shape_arg(shape):
    """``f(2, 3)`` and ``f((2, 3))`` alike: the sizes as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reversed_operands(f):
    """The reflected operator of ``f``: ``2 - t`` is ``sub(2, t)``."""
    def reflected(self, other):
        return f(other, self)
    reflected.__name__ = f"r{f.__name__}"
    reflected.__doc__ = f"``other {f.__name__} self`` (the reflected operator)."
    return reflected
