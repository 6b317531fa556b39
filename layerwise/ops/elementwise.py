"""Elementwise ops with broadcasting: arithmetic and the pointwise math functions.

Binary ops receive operands already cast to the torch result dtype; their
backward reduces the gradient back over broadcast axes (``unbroadcast``).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, ignore_float_errors
from ._util import unbroadcast


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1 (summed over broadcast axes)."""

    inputs = ("a", "b")

    def forward(self, a, b):
        self.save_for_backward(shapes=(a.shape, b.shape))
        return a + b

    def backward(self, g):
        sa, sb = self.saved.shapes
        return (unbroadcast(g, sa) if self.needs_input_grad[0] else None,
                unbroadcast(g, sb) if self.needs_input_grad[1] else None)


class Sub(Function):
    """z = a - b;  dz/da = 1, dz/db = -1."""

    inputs = ("a", "b")

    def forward(self, a, b):
        self.save_for_backward(shapes=(a.shape, b.shape))
        return a - b

    def backward(self, g):
        sa, sb = self.saved.shapes
        return (unbroadcast(g, sa) if self.needs_input_grad[0] else None,
                unbroadcast(-g, sb) if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b;  dz/da = b, dz/db = a."""

    inputs = ("a", "b")

    def forward(self, a, b):
        self.save_for_backward(a if self.needs_input_grad[1] else None,
                               b if self.needs_input_grad[0] else None, shapes=(a.shape, b.shape))
        return a * b

    def backward(self, g):
        a, b = self.saved
        sa, sb = self.saved.shapes
        return (unbroadcast(g * b, sa) if self.needs_input_grad[0] else None,
                unbroadcast(g * a, sb) if self.needs_input_grad[1] else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b² = -z/b."""

    inputs = ("a", "b")

    def forward(self, a, b):
        z = a / b
        self.save_for_backward(b, z if self.needs_input_grad[1] else None, shapes=(a.shape, b.shape))
        return z

    def backward(self, g):
        b, z = self.saved
        sa, sb = self.saved.shapes
        gb = g / b
        return (unbroadcast(gb, sa) if self.needs_input_grad[0] else None,
                unbroadcast(-gb * z, sb) if self.needs_input_grad[1] else None)


class DivRounding(Function):
    """z = floor(a / b) or trunc(a / b) (``rounding_mode``);  dz/da = dz/db = 0 (as torch)."""

    inputs = ("a", "b")

    def forward(self, a, b, mode="floor"):
        xp = get_array_module(a)
        self.save_for_backward(shapes=(a.shape, b.shape))
        if a.dtype.kind in "iub" and not xp.all(b):
            raise RuntimeError("ZeroDivisionError: integer division by zero")
        if mode == "floor":
            return xp.floor_divide(a, b)
        if a.dtype.kind in "iu":                    # exact integer truncation, no float round trip
            q = xp.floor_divide(a, b)
            return q + ((q < 0) & (q * b != a))
        return xp.trunc(a / b)

    def backward(self, g):
        xp = get_array_module(g)
        sa, sb = self.saved.shapes
        return (xp.zeros(sa, g.dtype) if self.needs_input_grad[0] else None,
                xp.zeros(sb, g.dtype) if self.needs_input_grad[1] else None)


class Pow(Function):
    """z = a ** b;  dz/da = b·a^(b−1), dz/db = z·ln a (0 where a = 0 and b ≥ 0, as torch)."""

    inputs = ("a", "b")

    def forward(self, a, b):
        z = a ** b
        self.save_for_backward(a, b, z, shapes=(a.shape, b.shape))
        return z

    def backward(self, g):
        xp = get_array_module(g)
        a, b, z = self.saved
        sa, sb = self.saved.shapes
        ga = gb = None
        if self.needs_input_grad[0]:
            # b·a^(b−1), written to stay exact at b = 0 (gradient 0, no 0·inf).
            with ignore_float_errors(xp):
                ga = unbroadcast(xp.where(b == 0, 0.0, g * b * a ** (b - 1)).astype(g.dtype), sa)
        if self.needs_input_grad[1]:
            with ignore_float_errors(xp):
                ln = xp.where((a == 0) & (b >= 0), 0.0, xp.log(a))
            gb = unbroadcast((g * z * ln).astype(g.dtype), sb)
        return ga, gb


class Neg(Function):
    """z = −a;  dz/da = −1."""

    inputs = ("x",)

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    """z = eˣ;  dz/dx = z (the output is saved, not the input)."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        z = xp.exp(x)
        self.save_for_backward(z)
        return z

    def backward(self, g):
        (z,) = self.saved
        return g * z


class Log(Function):
    """z = ln x;  dz/dx = 1/x."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        with ignore_float_errors(xp):
            return xp.log(x)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        with ignore_float_errors(xp):
            return g / x


class Log1p(Function):
    """z = ln(1 + x);  dz/dx = 1/(1 + x)."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        with ignore_float_errors(xp):
            return xp.log1p(x)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        with ignore_float_errors(xp):
            return g / (1 + x)


class Sqrt(Function):
    """z = √x;  dz/dx = 1/(2z)."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        with ignore_float_errors(xp):
            z = xp.sqrt(x)
        self.save_for_backward(z)
        return z

    def backward(self, g):
        xp = get_array_module(g)
        (z,) = self.saved
        with ignore_float_errors(xp):
            return g / (2 * z)


class Rsqrt(Function):
    """z = 1/√x;  dz/dx = −z³/2."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        with ignore_float_errors(xp):
            z = 1 / xp.sqrt(x)
        self.save_for_backward(z)
        return z

    def backward(self, g):
        (z,) = self.saved
        return g * (-0.5 * z * z * z)


class Abs(Function):
    """z = |x|;  dz/dx = sign(x) (0 at x = 0, as torch)."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        return xp.abs(x)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        return g * xp.sign(x)


class Sign(Function):
    """z = sign(x);  dz/dx = 0 everywhere it exists."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        return xp.sign(x)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.zeros_like(g)


class Rounding(Function):
    """z = floor/ceil/trunc/round(x);  dz/dx = 0 (piecewise constant), as torch."""

    inputs = ("x",)

    def forward(self, x, kind="floor", decimals=0):
        xp = get_array_module(x)
        if kind == "round":
            return xp.round(x, decimals)
        return getattr(xp, kind)(x)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.zeros_like(g)


class Clamp(Function):
    """z = min(max(x, lo), hi) with scalar bounds;  dz/dx = 1 where lo ≤ x ≤ hi (bounds included,
    as torch), else 0.  If lo > hi every element is hi (gradient 0)."""

    inputs = ("x",)

    def forward(self, x, lo=None, hi=None):
        xp = get_array_module(x)
        mask = xp.ones(x.shape, dtype=bool)
        z = x
        if lo is not None:
            mask &= x >= lo
            z = xp.maximum(z, lo)
        if hi is not None:
            mask &= x <= hi
            z = xp.minimum(z, hi)
        self.save_for_backward(mask)
        return xp.asarray(z, dtype=x.dtype)

    def backward(self, g):
        (mask,) = self.saved
        return g * mask


class ClampTensor(Function):
    """z = min(max(x, lo), hi) with tensor bounds (either may be absent), broadcasting all three.

    dz/dx  = 1 where lo ≤ x ≤ hi, else 0;
    dz/dlo = 1 where x < lo (and lo < hi when both bounds are given), else 0;
    dz/dhi = 1 where x > hi, or everywhere hi < lo (then z = hi), else 0 — torch's rule.
    """

    inputs = ("x", "lo?", "hi?")

    def forward(self, x, lo=None, hi=None):
        xp = get_array_module(x)
        shape = xp.broadcast_shapes(*(a.shape for a in (x, lo, hi) if a is not None))
        z = xp.broadcast_to(x, shape)
        keep = xp.ones(shape, dtype=bool)
        to_lo = to_hi = None
        if lo is not None:
            to_lo = x < lo
            keep = keep & (x >= lo)
            z = xp.maximum(z, lo)
        if hi is not None:
            to_hi = x > hi
            keep = keep & (x <= hi)
            z = xp.minimum(z, hi)
        if lo is not None and hi is not None:
            crossed = hi < lo
            to_lo = to_lo & ~crossed
            to_hi = to_hi | crossed
        self.save_for_backward(keep, to_lo, to_hi,
                               shapes=tuple(None if a is None else a.shape for a in (x, lo, hi)))
        return xp.asarray(z, dtype=x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        masks, shapes = tuple(self.saved), self.saved.shapes
        zero = xp.zeros((), g.dtype)
        return tuple(unbroadcast(xp.where(mask, g, zero), shape) if need else None
                     for mask, shape, need in zip(masks, shapes, self.needs_input_grad))


class Maximum(Function):
    """z = max(a, b);  the gradient goes to the larger input, half to each at a tie (as torch)."""

    inputs = ("a", "b")

    def forward(self, a, b):
        xp = get_array_module(a)
        self.save_for_backward(a, b)
        return xp.maximum(a, b)

    def backward(self, g):
        a, b = self.saved
        wa = (a > b) + 0.5 * (a == b)
        return (unbroadcast((g * wa).astype(g.dtype), a.shape) if self.needs_input_grad[0] else None,
                unbroadcast((g * (1 - wa)).astype(g.dtype), b.shape) if self.needs_input_grad[1] else None)


class Minimum(Function):
    """z = min(a, b);  the gradient goes to the smaller input, half to each at a tie."""

    inputs = ("a", "b")

    def forward(self, a, b):
        xp = get_array_module(a)
        self.save_for_backward(a, b)
        return xp.minimum(a, b)

    def backward(self, g):
        a, b = self.saved
        wa = (a < b) + 0.5 * (a == b)
        return (unbroadcast((g * wa).astype(g.dtype), a.shape) if self.needs_input_grad[0] else None,
                unbroadcast((g * (1 - wa)).astype(g.dtype), b.shape) if self.needs_input_grad[1] else None)


class Where(Function):
    """z = cond ? a : b;  dz/da = cond, dz/db = ¬cond.  (cond is a bool array, not an input.)"""

    inputs = ("a", "b")

    def forward(self, a, b, cond=None):
        xp = get_array_module(a)
        self.save_for_backward(cond=cond, shapes=(a.shape, b.shape))
        return xp.where(cond, a, b)

    def backward(self, g):
        xp = get_array_module(g)
        c = self.saved.cond
        sa, sb = self.saved.shapes
        zero = xp.zeros((), g.dtype)
        return (unbroadcast(xp.where(c, g, zero), sa) if self.needs_input_grad[0] else None,
                unbroadcast(xp.where(c, zero, g), sb) if self.needs_input_grad[1] else None)


class Sin(Function):
    """z = sin x;  dz/dx = cos x."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        return xp.sin(x)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        return g * xp.cos(x)


class Cos(Function):
    """z = cos x;  dz/dx = −sin x."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        return xp.cos(x)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        return -g * xp.sin(x)


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 − z²."""

    inputs = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        z = xp.tanh(x)
        self.save_for_backward(z)
        return z

    def backward(self, g):
        (z,) = self.saved
        return g * (1 - z * z)


def sigmoid_array(x):
    """σ(x) = 1/(1 + e⁻ˣ) without overflow for large |x| (uses e^x for x < 0)."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """z = σ(x);  dz/dx = z(1 − z)."""

    inputs = ("x",)

    def forward(self, x):
        z = sigmoid_array(x)
        self.save_for_backward(z)
        return z

    def backward(self, g):
        (z,) = self.saved
        return g * z * (1 - z)


class Cast(Function):
    """z = x converted to another floating dtype;  dz/dx = 1 (cast back)."""

    inputs = ("x",)

    def forward(self, x, dtype=None):
        self.save_for_backward(src_dtype=x.dtype)
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.saved.src_dtype)


class Identity(Function):
    """z = x (a copy);  dz/dx = 1.  Used for clone/contiguous."""

    inputs = ("x",)

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


class Overwrite(Function):
    """z = v broadcast to x's shape, x's values discarded (copy_, fill_, zero_);
    dz/dx = 0, dz/dv = 1 (summed over broadcast axes)."""

    inputs = ("x", "v")

    def forward(self, x, v):
        xp = get_array_module(x)
        self.save_for_backward(v_shape=v.shape)
        return xp.array(xp.broadcast_to(v, x.shape), dtype=x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        return (xp.zeros_like(g) if self.needs_input_grad[0] else None,
                unbroadcast(g, self.saved.v_shape) if self.needs_input_grad[1] else None)
