"""3-d pooling over (N, C, D, H, W) or (C, D, H, W), composed of the fused 2-d pooling ops:
each kernel depth offset i reads one slab of input depths (every output depth at once, folded
into the batch), the 2-d op pools its H, W windows, and the slabs are combined:

    max_pool3d   out = max_i max_pool2d(Xp[:, :, z·s + i·d])        (depth padded with −∞)
    avg_pool3d   out = Σ_i sum_pool2d(Xp[:, :, z·s + i])  /  divisor   (depth padded with 0)
                 divisor: the window's size, clipped as torch clips it (count_include_pad), or
                 its count of real elements, or divisor_override
    adaptive_*   bins [⌊j·D/out⌋, ⌈(j+1)·D/out⌉) along depth reduced (mean or max), then the
                 2-d adaptive op over H, W

The backward comes from the 2-d ops and the combining primitives.  One difference from torch:
where two depth slabs hold the same maximum, ``maximum`` splits the gradient between them
(torch gives it all to the first); ``return_indices`` is not implemented for 3-d pooling.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _tensor_ops as T
from ..ops.shape import ConstantPad
from ..tensor import Tensor
from . import pooling as P
from .module import Module

__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]
__functional__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d"]


def _batched(input, who):
    if not isinstance(input, Tensor) or input.ndim not in (4, 5):
        raise RuntimeError(f"{who}: expected input of shape (N, C, D, H, W) or (C, D, H, W), got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    if not input.is_floating_point():
        raise TypeError(f"{who}: expected a floating point input, got {input.dtype}")
    return input if input.ndim == 5 else input.unsqueeze(0)


def _pad_depth(x, k, s, p, d, out_depth, fill):
    """x padded along depth by p in front and, behind, by p plus whatever the last window
    (ceil_mode) reaches past that, with ``fill``."""
    extra = max(0, (out_depth - 1) * s + d * (k - 1) + 1 - (x.shape[2] + 2 * p))
    if not (p or extra):
        return x
    return ConstantPad.apply(x, pads=((0, 0), (0, 0), (p, p + extra), (0, 0), (0, 0)), value=fill)


def _depth_slabs(x, k, s, d, out_depth):
    """Yield the (N·Do, C, H, W) slab of every depth offset."""
    n, c, _, h, w = x.shape
    for i in range(k):
        start = i * d
        slab = x[:, :, start:start + s * (out_depth - 1) + 1:s]
        yield slab.transpose(1, 2).reshape(n * out_depth, c, h, w)


def _unfold_depth(y, n, out_depth):
    c, ho, wo = y.shape[1:]
    return y.reshape(n, out_depth, c, ho, wo).transpose(1, 2).contiguous()


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    who = "max_pool3d"
    if return_indices:
        raise NotImplementedError(f"{who}: return_indices is not implemented for 3-d pooling")
    k, s, p, d = P._geometry(who, 3, kernel_size, stride, padding, dilation)
    x = _batched(input, who)
    out_depth = P._out_sizes(who, x, 3, k, s, p, d, ceil_mode)[0]
    x = _pad_depth(x, k[0], s[0], p[0], d[0], out_depth, -math.inf)
    best = None
    for slab in _depth_slabs(x, k[0], s[0], d[0], out_depth):
        y = P.max_pool2d(slab, k[1:], s[1:], p[1:], d[1:], ceil_mode)
        best = y if best is None else T.maximum(best, y)
    out = _unfold_depth(best, x.shape[0], out_depth)
    return out if input.ndim == 5 else out.squeeze(0)


def _divisor(n, k, s, p, out, include_pad):
    """The number of positions each output window averages over, along one axis."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, n) - np.maximum(start, 0)).astype(np.float64)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    who = "avg_pool3d"
    k, s, p, d = P._geometry(who, 3, kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{who}: divisor must be not zero")
    x = _batched(input, who)
    sizes = tuple(x.shape[2:])
    out = P._out_sizes(who, x, 3, k, s, p, d, ceil_mode)
    x = _pad_depth(x, k[0], s[0], p[0], 1, out[0], 0.0)
    total = None
    for slab in _depth_slabs(x, k[0], s[0], 1, out[0]):
        y = P.avg_pool2d(slab, k[1:], s[1:], p[1:], ceil_mode, True, divisor_override=1)  # sums
        total = y if total is None else total + y
    sums = _unfold_depth(total, x.shape[0], out[0])
    if divisor_override is not None:
        div = np.full(out, float(divisor_override))
    else:
        axes = [_divisor(n, ki, si, pi, o, count_include_pad)
                for n, ki, si, pi, o in zip(sizes, k, s, p, out)]
        div = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    res = sums / Tensor._wrap(div.astype(sums.array.dtype))
    return res if input.ndim == 5 else res.squeeze(0)


def _adaptive3d(input, output_size, kind, who):
    x = _batched(input, who)
    out = P._adaptive_sizes(who, x, 3, output_size)
    depth, od = x.shape[2], out[0]
    pool = P.adaptive_avg_pool2d if kind == "avg" else P.adaptive_max_pool2d
    planes = []
    for j in range(od):
        lo, hi = (j * depth) // od, -(-((j + 1) * depth) // od)
        block = x[:, :, lo:hi]
        plane = block.mean(dim=2) if kind == "avg" else block.amax(dim=2)
        planes.append(pool(plane, out[1:]))
    res = T.stack(planes, dim=2)
    return res if input.ndim == 5 else res.squeeze(0)


def adaptive_avg_pool3d(input, output_size):
    """Average over adaptive bins of (N, C, D, H, W) or (C, D, H, W); None keeps that size."""
    return _adaptive3d(input, output_size, "avg", "adaptive_avg_pool3d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Maximum over adaptive bins of (N, C, D, H, W) or (C, D, H, W)."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool3d: return_indices is not implemented for "
                                  "3-d pooling")
    return _adaptive3d(input, output_size, "max", "adaptive_max_pool3d")


class MaxPool3d(P._MaxPoolNd):
    """Max over windows of (N, C, D, H, W) or (C, D, H, W) (no ``return_indices``)."""
    _n = 3

    def forward(self, input):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool3d(P._AdaptivePool):
    """Average over adaptive bins of (N, C, D, H, W) or (C, D, H, W)."""
    _n, _kind = 3, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(P._AdaptivePool):
    """Maximum over adaptive bins of (N, C, D, H, W) or (C, D, H, W) (no ``return_indices``)."""
    _n, _kind = 3, "max"

    def forward(self, input):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)
