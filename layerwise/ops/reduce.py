"""Reductions over dims (with keepdim): sum, mean, var, prod, max/min, logsumexp, norm.

Each backward first reshapes the incoming gradient so it broadcasts against the
input (``expand_reduced``), then applies the local derivative.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, ignore_float_errors
from ._util import expand_reduced


class Sum(Function):
    """z = Σ_dims x;  dz/dx = 1 (the gradient is broadcast back over the summed dims)."""

    inputs = ("x",)

    def forward(self, x, dims=(), keepdim=False):
        xp = get_array_module(x)
        self.save_for_backward(x_shape=x.shape, dims=dims, keepdim=keepdim)
        return xp.sum(x, axis=dims, keepdims=keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        g = expand_reduced(g, s.x_shape, s.dims, s.keepdim)
        return xp.broadcast_to(g, s.x_shape).copy()


class Mean(Function):
    """z = Σ_dims x / n;  dz/dx = 1/n."""

    inputs = ("x",)

    def forward(self, x, dims=(), keepdim=False):
        xp = get_array_module(x)
        n = 1
        for d in dims:
            n *= x.shape[d]
        self.save_for_backward(x_shape=x.shape, dims=dims, keepdim=keepdim, n=n)
        if x.size:
            return xp.mean(x, axis=dims, keepdims=keepdim)
        # empty: NaN where the reduced slice is empty (no NumPy warning)
        kept = [1 if i in dims else s for i, s in enumerate(x.shape)]
        z = xp.full(kept, xp.nan if n == 0 else 0, x.dtype)
        return z if keepdim else z.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        g = expand_reduced(g, s.x_shape, s.dims, s.keepdim)
        return xp.broadcast_to(g / s.n, s.x_shape).astype(g.dtype)


class Var(Function):
    """z = Σ (x − x̄)² / (n − c);  dz/dx = 2(x − x̄)/(n − c)."""

    inputs = ("x",)

    def forward(self, x, dims=(), correction=1, keepdim=False):
        xp = get_array_module(x)
        n = 1
        for d in dims:
            n *= x.shape[d]
        denom = max(n - correction, 0)
        xc = x - xp.mean(x, axis=dims, keepdims=True)
        self.save_for_backward(xc, x_shape=x.shape, dims=dims, keepdim=keepdim, denom=denom)
        with ignore_float_errors(xp):
            return (xp.sum(xc * xc, axis=dims, keepdims=keepdim) / x.dtype.type(denom)).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        (xc,) = self.saved
        s = self.saved
        g = expand_reduced(g, s.x_shape, s.dims, s.keepdim)
        with ignore_float_errors(xp):
            return (g * xc * (2 / xc.dtype.type(s.denom))).astype(xc.dtype)


class Std(Function):
    """z = √(Σ (x − x̄)² / (n − c));  dz/dx = (x − x̄) / ((n − c)·z), and 0 where z = 0 (a constant
    slice), as torch — not the 0/0 that √ of ``Var`` would give."""

    inputs = ("x",)

    def forward(self, x, dims=(), correction=1, keepdim=False):
        xp = get_array_module(x)
        n = 1
        for d in dims:
            n *= x.shape[d]
        denom = max(n - correction, 0)
        xc = x - xp.mean(x, axis=dims, keepdims=True)
        with ignore_float_errors(xp):
            z = xp.sqrt(xp.sum(xc * xc, axis=dims, keepdims=True) / x.dtype.type(denom)).astype(x.dtype)
        self.save_for_backward(xc, z, x_shape=x.shape, dims=dims, keepdim=keepdim, denom=denom)
        return z if keepdim else z.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    def backward(self, g):
        xp = get_array_module(g)
        xc, z = self.saved
        s = self.saved
        g = expand_reduced(g, s.x_shape, s.dims, s.keepdim)
        with ignore_float_errors(xp):
            scale = xp.where(z == 0, 0, g / (z * xc.dtype.type(s.denom)))
        return (scale * xc).astype(xc.dtype)


class Prod(Function):
    """z = Π_dim x;  dz/dx_i = Π_{j≠i} x_j (computed without dividing, so zeros are exact)."""

    inputs = ("x",)

    def forward(self, x, dim=None, keepdim=False):
        xp = get_array_module(x)
        self.save_for_backward(x, dim=dim, keepdim=keepdim)
        return xp.prod(x, axis=dim, keepdims=keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        (x,) = self.saved
        axis = self.saved.dim
        flat = x.reshape(-1) if axis is None else x
        ax = 0 if axis is None else axis
        # Product of everything before i times everything after i: exclusive cumprods.
        ones = xp.ones_like(xp.take(flat, [0], axis=ax))
        before = xp.cumprod(xp.concatenate([ones, xp.delete(flat, -1, axis=ax)], axis=ax), axis=ax)
        rev = xp.flip(flat, axis=ax)
        after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.delete(rev, -1, axis=ax)], axis=ax), axis=ax), axis=ax)
        others = (before * after).reshape(x.shape)
        dims = tuple(range(x.ndim)) if axis is None else (axis,)
        g = expand_reduced(g, x.shape, dims, self.saved.keepdim)
        return (g * others).astype(x.dtype)


class AmaxAmin(Function):
    """z = max (or min) over dims;  the gradient is split evenly among tied extrema (as torch's amax)."""

    inputs = ("x",)

    def forward(self, x, dims=(), keepdim=False, largest=True):
        xp = get_array_module(x)
        z = (xp.max if largest else xp.min)(x, axis=dims, keepdims=True)
        mask = x == z
        self.save_for_backward(mask, dims=dims, keepdim=keepdim)
        return z if keepdim else z.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    def backward(self, g):
        (mask,) = self.saved
        dims = self.saved.dims
        count = mask.sum(axis=dims, keepdims=True)
        g = expand_reduced(g, mask.shape, dims, self.saved.keepdim)
        return (mask * (g / count)).astype(g.dtype)


class MaxMinDim(Function):
    """(values, indices) = max (or min) along one dim;  the gradient goes to the returned index only."""

    inputs = ("x",)

    def forward(self, x, dim=0, keepdim=False, largest=True):
        xp = get_array_module(x)
        idx = (xp.argmax if largest else xp.argmin)(x, axis=dim, keepdims=True)
        vals = xp.take_along_axis(x, idx, axis=dim)
        self.save_for_backward(idx, x_shape=x.shape, dim=dim, keepdim=keepdim)
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        return vals, idx.astype(xp.int64)

    def backward(self, g, _g_idx):
        xp = get_array_module(g)
        (idx,) = self.saved
        s = self.saved
        g = expand_reduced(g, s.x_shape, (s.dim,), s.keepdim)
        out = xp.zeros(s.x_shape, g.dtype)
        xp.put_along_axis(out, idx, g, axis=s.dim)
        return out


class LogSumExp(Function):
    """z = log Σ eˣ (max-subtracted for stability);  dz/dx = softmax(x) = e^(x − z)."""

    inputs = ("x",)

    def forward(self, x, dims=(), keepdim=False):
        xp = get_array_module(x)
        m = xp.max(x, axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        with ignore_float_errors(xp):
            z = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
        self.save_for_backward(x, z, dims=dims, keepdim=keepdim)
        return z if keepdim else z.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    def backward(self, g):
        xp = get_array_module(g)
        x, z = self.saved
        g = expand_reduced(g, x.shape, self.saved.dims, self.saved.keepdim)
        with ignore_float_errors(xp):
            return (g * xp.exp(x - z)).astype(x.dtype)


class Norm(Function):
    """z = (Σ |x|^p)^(1/p);  dz/dx = sign(x)·|x|^(p−1) / z^(p−1) (0 where x = 0 or z = 0, as torch).

    p = inf is max|x| with the gradient split among ties; p = 0 counts non-zeros (no gradient).
    """

    inputs = ("x",)

    def forward(self, x, p=2.0, dims=(), keepdim=False):
        xp = get_array_module(x)
        ax = xp.abs(x)
        if p == float("inf"):
            z = xp.max(ax, axis=dims, keepdims=True)
        elif p == 0:
            z = xp.sum(ax != 0, axis=dims, keepdims=True).astype(x.dtype)
        elif p == 2:
            z = xp.sqrt(xp.sum(x * x, axis=dims, keepdims=True))
        else:
            z = xp.sum(ax ** p, axis=dims, keepdims=True) ** (1 / p)
        z = z.astype(x.dtype)
        self.save_for_backward(x, z, p=p, dims=dims, keepdim=keepdim)
        return z if keepdim else z.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    def backward(self, g):
        xp = get_array_module(g)
        x, z = self.saved
        p, dims = self.saved.p, self.saved.dims
        g = expand_reduced(g, x.shape, dims, self.saved.keepdim)
        if p == 0:
            return xp.zeros_like(x)
        with ignore_float_errors(xp):
            if p == float("inf"):
                mask = xp.abs(x) == z
                d = xp.sign(x) * mask / mask.sum(axis=dims, keepdims=True)
            elif p == 2:
                d = x / z
            elif p == 1:
                d = xp.sign(x)
            else:
                d = xp.where(x == 0, 0, xp.sign(x) * xp.abs(x) ** (p - 1)) / z ** (p - 1)
            d = xp.where(z == 0, 0, d)
        return (g * d).astype(x.dtype)


class Cumsum(Function):
    """z_i = Σ_{j≤i} x_j along dim;  dL/dx_j = Σ_{i≥j} g_i (a reversed cumulative sum)."""

    inputs = ("x",)

    def forward(self, x, dim=0):
        xp = get_array_module(x)
        self.save_for_backward(dim=dim)
        return xp.cumsum(x, axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        dim = self.saved.dim
        return xp.flip(xp.cumsum(xp.flip(g, dim), axis=dim), dim)
