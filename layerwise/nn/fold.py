"""Unfold (im2col) and Fold (col2im) as layers: sliding blocks of an image as columns, and back.

    unfold: (N, C, H, W) → (N, C·kh·kw, L)   column l holds block l; row c·kh·kw + i·kw + j is
            channel c at kernel offset (i, j);  L = Ho·Wo blocks (the convolution output grid)
    fold:   (N, C·kh·kw, L) → (N, C, H, W)    the adjoint: each column entry is *added* back to
            the pixel it was read from (overlaps sum)

Both are convolutions with a fixed one-hot kernel E of shape (C·kh·kw, 1, kh, kw), E[c·K + k,
0] = δ_k, in C groups: unfold = conv2d(x, E, groups=C), fold = conv_transpose2d(cols, E,
groups=C).  So their forward and backward are the convolution ops' (``layerwise/ops/conv``):
the backward of unfold is a fold, and the backward of fold an unfold.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .conv import conv2d, conv_transpose2d
from .module import Module

__all__ = ["Unfold", "Fold"]
__functional__ = ["unfold", "fold"]


def _pair(v, name, who):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(v) != 2 or not all(isinstance(a, (int, np.integer)) for a in v):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints, got {v!r}")
    return tuple(int(a) for a in v)


def _one_hot_kernel(channels, k, dtype):
    kh, kw = k
    e = np.zeros((channels * kh * kw, 1, kh, kw), dtype)
    e.reshape(channels, kh * kw, kh * kw)[:] = np.eye(kh * kw, dtype=dtype)
    return Tensor._wrap(e)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding kh × kw blocks of (N, C, H, W) (or (C, H, W)) as columns: (N, C·kh·kw, L)."""
    who = "unfold"
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise RuntimeError(f"{who}: expected a 3D (unbatched) or 4D (batched) input (N, C, H, W), "
                           f"got {getattr(input, 'shape', type(input).__name__)}")
    k, d, p, s = (_pair(v, n, who) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                               (padding, "padding"), (stride, "stride")))
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c = x.shape[:2]
    cols = conv2d(x, _one_hot_kernel(c, k, x.array.dtype), stride=s, padding=p, dilation=d, groups=c)
    cols = cols.reshape(n, c * k[0] * k[1], -1)
    return cols if input.ndim == 4 else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: (N, C·kh·kw, L) (or (C·kh·kw, L)) summed back into (N, C, H, W)."""
    who = "fold"
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise RuntimeError(f"{who}: expected a 2D (unbatched) or 3D (batched) input "
                           f"(N, C·kh·kw, L), got {getattr(input, 'shape', type(input).__name__)}")
    size, k, d, p, s = (_pair(v, n, who) for v, n in (
        (output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
        (padding, "padding"), (stride, "stride")))
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ck, length = x.shape
    kk = k[0] * k[1]
    if ck % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ck} and kernel_size={k}.")
    blocks = [(size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if blocks[0] * blocks[1] != length or min(blocks) < 1:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={length}.")
    extra = tuple(size[i] - ((blocks[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1)
                  for i in range(2))
    c = ck // kk
    out = conv_transpose2d(x.reshape(n, ck, blocks[0], blocks[1]),
                           _one_hot_kernel(c, k, x.array.dtype), stride=s, padding=p,
                           output_padding=extra, groups=c, dilation=d)
    return out if input.ndim == 3 else out.squeeze(0)


class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                       padding, stride)

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                       padding, stride)

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
