"""Softmax and log-softmax along one dim, fused and max-subtracted for stability.

For y = softmax(x):      dL/dx = y ⊙ (g − Σ_dim g ⊙ y)
For y = log_softmax(x):  dL/dx = g − softmax(x) ⊙ Σ_dim g
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, ignore_float_errors


def log_softmax_array(x, dim):
    xp = get_array_module(x)
    m = xp.max(x, axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype)
    with ignore_float_errors(xp):
        shifted = x - m
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=dim, keepdims=True))


def softmax_array(x, dim):
    xp = get_array_module(x)
    m = xp.max(x, axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype)
    with ignore_float_errors(xp):
        e = xp.exp(x - m)
        return e / xp.sum(e, axis=dim, keepdims=True)


class Softmax(Function):
    """y = e^(x − max) / Σ_dim e^(x − max);  dL/dx = y ⊙ (g − Σ_dim g ⊙ y)."""

    inputs = ("x",)

    def forward(self, x, dim=-1):
        y = softmax_array(x, dim)
        self.save_for_backward(y, dim=dim)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        (y,) = self.saved
        return y * (g - xp.sum(g * y, axis=self.saved.dim, keepdims=True))


class LogSoftmax(Function):
    """y = x − max − log Σ_dim e^(x − max);  dL/dx = g − e^y ⊙ Σ_dim g."""

    inputs = ("x",)

    def forward(self, x, dim=-1):
        y = log_softmax_array(x, dim)
        self.save_for_backward(y, dim=dim)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        (y,) = self.saved
        with ignore_float_errors(xp):
            return g - xp.exp(y) * xp.sum(g, axis=self.saved.dim, keepdims=True)
