"""Dropout as one op with an explicit mask.

    y = x ⊙ m · s            dL/dx = g ⊙ m · s

with m the keep mask (1 keeps, 0 drops) and s = 1/(1 − p) for Dropout.  The
mask is an *option* of the op, drawn by the caller (``nn.dropout``) from the
generator, so tests can inject a mask and check the backward exactly.

AlphaDropout keeps SELU's self-normalising statistics: dropped units are set to
α' = −λα (SELU's negative saturation) instead of 0, then an affine map
y = a·(x ⊙ m + α'(1 − m)) + b restores mean 0 and variance 1, with
a = ((1 − p)(1 + p α'²))^(−½), b = −a α' p;  dL/dx = a · g ⊙ m.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module

SELU_ALPHA_PRIME = -1.7580993408473766     # −λα of SELU


class Dropout(Function):
    """y = x ⊙ m · s;  dL/dx = g ⊙ m · s (m may broadcast: channel-wise dropout (N, C, 1, 1))."""

    inputs = ("x",)

    def forward(self, x, mask=None, scale=1.0):
        scaled_mask = (mask * x.dtype.type(scale)).astype(x.dtype, copy=False)
        self.save_for_backward(scaled_mask)
        return x * scaled_mask

    def backward(self, g):
        (scaled_mask,) = self.saved
        return g * scaled_mask


class AlphaDropout(Function):
    """y = a·(x ⊙ m + α'(1 − m)) + b;  dL/dx = a · g ⊙ m (see the module docstring)."""

    inputs = ("x",)

    def forward(self, x, mask=None, p=0.5):
        a = ((1 - p) * (1 + p * SELU_ALPHA_PRIME ** 2)) ** -0.5
        b = -a * SELU_ALPHA_PRIME * p
        keep = mask.astype(x.dtype, copy=False)
        grad_scale = (keep * x.dtype.type(a)).astype(x.dtype, copy=False)
        self.save_for_backward(grad_scale)
        return (x * grad_scale + x.dtype.type(a * SELU_ALPHA_PRIME + b)
                - (keep * x.dtype.type(a * SELU_ALPHA_PRIME))).astype(x.dtype, copy=False)

    def backward(self, g):
        (grad_scale,) = self.saved
        return g * grad_scale
