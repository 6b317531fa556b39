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


def _triple(v, name, who):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * 3
    if len(v) != 3 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                              for a in v):
        raise ValueError(f"{who}: {name} must be an int or a tuple of 3 ints, got {v!r}")
    return tuple(int(a) for a in v)


def _batched(input, who):
    if not isinstance(input, Tensor) or input.ndim not in (4, 5):
        raise RuntimeError(f"{who}: expected input of shape (N, C, D, H, W) or (C, D, H, W), got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    if not input.is_floating_point():
        raise TypeError(f"{who}: expected a floating point input, got {input.dtype}")
    return input if input.ndim == 5 else input.unsqueeze(0)


def _out_size(n, k, s, p, d, ceil_mode):
    """torch's pooling output size along one axis."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _check_window(who, k, s, p, d=(1, 1, 1)):
    if any(v <= 0 for v in k + s + d):
        raise ValueError(f"{who}: kernel_size, stride and dilation must be positive, got "
                         f"{k}, {s}, {d}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)) or any(pi < 0 for pi in p):
        raise RuntimeError(f"{who}: pad should be at most half of effective kernel size, but got "
                           f"pad={p}, kernel_size={k}")


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
    k = _triple(kernel_size, "kernel_size", who)
    s = _triple(stride if stride is not None and stride != [] else k, "stride", who)
    p, d = _triple(padding, "padding", who), _triple(dilation, "dilation", who)
    _check_window(who, k, s, p, d)
    x = _batched(input, who)
    depth = x.shape[2]
    out_depth = _out_size(depth, k[0], s[0], p[0], d[0], ceil_mode)
    extra = max(0, (out_depth - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (depth + 2 * p[0]))
    if p[0] or extra:
        x = ConstantPad.apply(x, pads=((0, 0), (0, 0), (p[0], p[0] + extra), (0, 0), (0, 0)),
                              value=-math.inf)
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
    k = _triple(kernel_size, "kernel_size", who)
    s = _triple(stride if stride is not None and stride != [] else k, "stride", who)
    p = _triple(padding, "padding", who)
    _check_window(who, k, s, p)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{who}: divisor must be not zero")
    x = _batched(input, who)
    sizes = tuple(x.shape[2:])
    out = tuple(_out_size(n, ki, si, pi, 1, ceil_mode) for n, ki, si, pi in zip(sizes, k, s, p))
    extra = max(0, (out[0] - 1) * s[0] + k[0] - (sizes[0] + 2 * p[0]))
    if p[0] or extra:
        x = ConstantPad.apply(x, pads=((0, 0), (0, 0), (p[0], p[0] + extra), (0, 0), (0, 0)),
                              value=0.0)
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
    res = sums / Tensor._wrap(div.astype(sums.data.dtype))
    return res if input.ndim == 5 else res.squeeze(0)


def _adaptive3d(input, output_size, kind, who):
    x = _batched(input, who)
    sizes = tuple(x.shape[2:])
    want = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    if len(want) != 3:
        raise ValueError(f"{who}: output_size must be an int or a tuple of 3 ints (None keeps the "
                         f"input size), got {output_size!r}")
    out = tuple(n if o is None else int(o) for n, o in zip(sizes, want))
    depth, od = sizes[0], out[0]
    planes = []
    for j in range(od):
        lo, hi = (j * depth) // od, -(-((j + 1) * depth) // od)
        block = x[:, :, lo:hi]
        plane = block.mean(dim=2) if kind == "avg" else block.amax(dim=2)
        pool = P.adaptive_avg_pool2d if kind == "avg" else P.adaptive_max_pool2d
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


class MaxPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


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


class AdaptiveAvgPool3d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(AdaptiveAvgPool3d):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)
