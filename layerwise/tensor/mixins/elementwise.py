"""Elementwise math (``ops/elementwise.py``): arithmetic, powers, clamps, unary functions.

Each function turns Python arguments into op options, applies torch's type promotion
(``dtypes.result_type``) and checks shapes, then calls the op's ``Function.apply``; the math,
forward and backward, is in ``layerwise/ops/elementwise.py``.  ``ElementwiseMixin`` declares
them as Tensor methods and operators (``t.exp()``, ``a + b``, ``2 ** t``).
"""
from __future__ import annotations

import builtins
import numbers

from ... import dtypes as _dt
from ...backend import asarray, get_array_module
from ...ops import elementwise as E
from ._common import (HOST_BOOL, SCALAR_TYPES, as_float_input, binary, broadcast_shape, operand,
                      reversed_operands)

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists


# ---------------------------------------------------------------------- arithmetic
def add(a, b, *, alpha=1):
    return binary(E.Add, "add", a, b if alpha == 1 else b * alpha)


def sub(a, b, *, alpha=1):
    if builtins.any(isinstance(v, (builtins.bool, HOST_BOOL))
                    or (isinstance(v, Tensor) and v.array.dtype == _dt.bool_.np) for v in (a, b)):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return binary(E.Sub, "sub", a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return binary(E.Mul, "mul", a, b)


def div(a, b, *, rounding_mode=None):
    if rounding_mode is None:
        return binary(E.Div, "div", a, b, float_out=True)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    return binary(E.DivRounding, "div", a, b, mode=rounding_mode)


true_divide = divide = div
multiply, subtract = mul, sub


def floor_divide(a, b):
    return div(a, b, rounding_mode="floor")


def remainder(a, b):
    """a − floor(a/b)·b (sign of b, as torch); differentiable in a and b."""
    return a - floor_divide(a, b) * b


def pow(a, b):
    if isinstance(b, SCALAR_TYPES) and isinstance(a, Tensor) and not a.is_floating_point() \
            and isinstance(b, numbers.Integral) and b < 0:
        raise RuntimeError("pow: integers to negative integer powers are not allowed")
    return binary(E.Pow, "pow", a, b)


def neg(x):
    return E.Neg.apply(x)


negative = neg


def maximum(a, b):
    return binary(E.Maximum, "maximum", a, b)


def minimum(a, b):
    return binary(E.Minimum, "minimum", a, b)


# ---------------------------------------------------------------------- where and clamp
def _nonzero(condition):
    """``where(condition)``: a tuple of int64 index tensors, one per dim."""
    xp = get_array_module(condition.array)
    return tuple(Tensor._wrap(i.astype(_dt.int64.np)) for i in xp.nonzero(condition.array))


def _condition_array(condition, like):
    """The condition as a bool array of the array module the operands use."""
    if isinstance(condition, Tensor):
        cond = condition.array
    else:
        cond = asarray(condition, xp=get_array_module(like))
    if cond.dtype != _dt.bool_.np:
        raise RuntimeError(f"where: expected a bool condition, got {cond.dtype}")
    return cond


def where(condition, a=None, b=None):
    """Elements of ``a`` where ``condition`` else of ``b`` (differentiable in a and b)."""
    if a is None and b is None:
        return _nonzero(condition)
    like = next((v.array for v in (condition, a, b) if isinstance(v, Tensor)), None)
    cond = _condition_array(condition, like)
    d = _dt.result_type(a, b)
    ta, tb = operand(a, d, cond), operand(b, d, cond)
    try:
        shape = broadcast_shape(cond.shape, ta.array.shape, tb.array.shape)
    except ValueError:
        raise RuntimeError(f"where: shapes {cond.shape}, {tuple(ta.shape)} and {tuple(tb.shape)} "
                           "cannot be broadcast together") from None
    if ta.array.shape != shape and ta.requires_grad:
        ta = ta.expand(*shape)
    if tb.array.shape != shape and tb.requires_grad:
        tb = tb.expand(*shape)
    return E.Where.apply(ta, tb, cond=cond)


def _clamp_by_tensors(x, bounds, d, has_lo, has_hi):
    """clamp with Tensor bounds: broadcast-checked, differentiable in the bounds too."""
    tb = [operand(v, d, x.array) for v in bounds]
    try:
        broadcast_shape(x.array.shape, *(t.array.shape for t in tb))
    except ValueError:
        raise RuntimeError(f"clamp: the shapes of the input {tuple(x.shape)} and of the bounds "
                           f"{[tuple(t.shape) for t in tb]} cannot be broadcast together") from None
    lo = tb[0] if has_lo else None                 # the op's inputs: (x, lo?, hi?)
    hi = tb[-1] if has_hi else None
    return E.ClampTensor.apply(x._cast(d), lo, hi)


def clamp(x, min=None, max=None):
    """Clamp into [min, max]; the gradient is 1 inside the range *including* its bounds."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min or max must be given")
    bounds = [v for v in (min, max) if v is not None]
    d = _dt.result_type(x, *bounds)
    if builtins.any(isinstance(v, Tensor) for v in bounds):
        return _clamp_by_tensors(x, bounds, d, min is not None, max is not None)
    for v in bounds:
        _dt._category_of_scalar(v)
    return E.Clamp.apply(x._cast(d), lo=min, hi=max)


clip = clamp


# ---------------------------------------------------------------------- unary functions
def _unary(op, name):
    def f(x):
        return op.apply(as_float_input(x, name))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = op.__doc__
    return f


exp = _unary(E.Exp, "exp")
log = _unary(E.Log, "log")
log1p = _unary(E.Log1p, "log1p")
sqrt = _unary(E.Sqrt, "sqrt")
rsqrt = _unary(E.Rsqrt, "rsqrt")
sin = _unary(E.Sin, "sin")
cos = _unary(E.Cos, "cos")
tanh = _unary(E.Tanh, "tanh")
sigmoid = _unary(E.Sigmoid, "sigmoid")


def abs(x):
    return E.Abs.apply(x)


def sign(x):
    return E.Sign.apply(x)


def square(x):
    return mul(x, x)


def clone(x):
    return E.Identity.apply(x)


def _rounding(kind, name):
    def f(x):
        if not x.is_floating_point():
            return clone(x)                   # integers are already whole: same dtype, as torch
        return E.Rounding.apply(x, kind=kind)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{name} (piecewise constant: its gradient is 0 almost everywhere)"
    return f


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")


def round(x, *, decimals=0):
    if not x.is_floating_point():
        return clone(x)
    return E.Rounding.apply(x, kind="round", decimals=decimals)


# ---------------------------------------------------------------------- the methods
class ElementwiseMixin:
    """Tensor methods and operators for elementwise math (the functions of this module)."""

    __slots__ = ()

    # arithmetic operators, and their reflected forms (``2 - t``)
    __add__, __radd__ = add, reversed_operands(add)
    __sub__, __rsub__ = sub, reversed_operands(sub)
    __mul__, __rmul__ = mul, reversed_operands(mul)
    __truediv__, __rtruediv__ = div, reversed_operands(div)
    __floordiv__, __rfloordiv__ = floor_divide, reversed_operands(floor_divide)
    __mod__, __rmod__ = remainder, reversed_operands(remainder)
    __pow__, __rpow__ = pow, reversed_operands(pow)
    __neg__ = neg
    __abs__ = abs

    def __pos__(self):
        return self

    # arithmetic
    add = add
    sub = subtract = sub
    mul = multiply = mul
    div = divide = true_divide = div
    floor_divide = floor_divide
    remainder = remainder
    pow = pow
    neg = negative = neg
    maximum = maximum
    minimum = minimum
    clamp = clip = clamp

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (``lw.where(condition, self, other)``)."""
        return where(condition, self, other)

    # unary functions
    exp = exp
    log = log
    log1p = log1p
    sqrt = sqrt
    rsqrt = rsqrt
    sin = sin
    cos = cos
    tanh = tanh
    sigmoid = sigmoid
    abs = abs
    sign = sign
    square = square
    clone = clone
    floor = floor
    ceil = ceil
    trunc = trunc
    round = round
