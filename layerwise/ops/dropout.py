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
from ..backend import xp

SELU_ALPHA_PRIME = -1.7580993408473766     # −λα of SELU


class Dropout(Function):
    def forward(self, x, mask=None, scale=1.0):
        # mask may broadcast (channel-wise dropout: shape (N, C, 1, 1))
        self.mask = (mask * x.dtype.type(scale)).astype(x.dtype, copy=False)
        return x * self.mask

    def backward(self, g):
        return g * self.mask


class AlphaDropout(Function):
    def forward(self, x, mask=None, p=0.5):
        a = ((1 - p) * (1 + p * SELU_ALPHA_PRIME ** 2)) ** -0.5
        b = -a * SELU_ALPHA_PRIME * p
        keep = mask.astype(x.dtype, copy=False)
        self.grad_scale = (keep * x.dtype.type(a)).astype(x.dtype, copy=False)
        return (x * self.grad_scale + x.dtype.type(a * SELU_ALPHA_PRIME + b)
                - (x.dtype.type(a * SELU_ALPHA_PRIME) * keep)).astype(x.dtype, copy=False)

    def backward(self, g):
        return g * self.grad_scale
