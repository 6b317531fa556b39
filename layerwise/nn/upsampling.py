"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear, trilinear, area), the
Upsample layers, and ``pixel_shuffle`` / ``pixel_unshuffle``.  Light ops composed of
differentiable primitives (index_select, arithmetic, adaptive average pooling, reshapes), so
their backward comes from those: an index gather scatters its gradient back, a blend splits
it by the same weights.

For each resized axis (input size n, output size m), output position d reads input positions
computed from the scale s = n/m, or 1/scale_factor when a scale_factor is given (and
``recompute_scale_factor`` is not True), exactly as torch:

    nearest        src = min(⌊d·s⌋, n − 1)
    nearest-exact  src = min(⌊(d + ½)·s⌋, n − 1)
    linear         x = max((d + ½)·s − ½, 0)       (align_corners=False)
                   x = d·(n − 1)/(m − 1)            (align_corners=True; 0 when m = 1)
                   out = (1 − λ)·in[⌊x⌋] + λ·in[min(⌊x⌋ + 1, n − 1)],  λ = x − ⌊x⌋
    area           adaptive average pooling to the output size

The multi-axis modes (bilinear, trilinear) apply the linear rule one axis after the other.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..tensor import Tensor
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
           "PixelUnshuffle"]
__functional__ = ["interpolate", "pixel_shuffle", "pixel_unshuffle"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _per_axis(value, k):
    """One value per resized axis: a sequence of k values, or a scalar repeated (None when a
    sequence has the wrong length)."""
    if isinstance(value, (tuple, list)):
        if len(value) != k:
            return None
        return tuple(value)
    return (value,) * k


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions of ``input`` (N, C, d1[, d2[, d3]]) to ``size`` or by
    ``scale_factor`` (see the module docstring for each mode's rule)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor input, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | "
                                  f"bicubic | trilinear | area | nearest-exact (got {mode})")
    if mode in ("bicubic",) or antialias:
        raise NotImplementedError(f"interpolate: mode {mode!r}"
                                  f"{' with antialias' if antialias else ''} is not implemented "
                                  "in layerwise (nearest, nearest-exact, linear, bilinear, "
                                  "trilinear and area are)")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    k = input.ndim - 2
    if mode in _LINEAR and k != _LINEAR[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode] + 2}D input")
    if not 1 <= k <= 3:
        raise NotImplementedError(f"interpolate: expected a 3D, 4D or 5D input (N, C, ...), got "
                                  f"{input.ndim}D input of shape {tuple(input.shape)}")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out = _per_axis(size, k)
        if out is None:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {list(in_sizes)} and "
                             f"output size of {size}")
        out = tuple(int(o) for o in out)
        scales = tuple(n / o for n, o in zip(in_sizes, out))
    else:
        factors = _per_axis(scale_factor, k)
        if factors is None:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and scale_factor of shape {scale_factor}")
        out = tuple(int(math.floor(n * float(f))) for n, f in zip(in_sizes, factors))
        if recompute_scale_factor:
            scales = tuple(n / o for n, o in zip(in_sizes, out))
        else:
            scales = tuple(1.0 / float(f) for f in factors)
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate: the output size {out} must be positive "
                         f"(input {tuple(input.shape)})")
    if mode == "area":
        from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
        if k == 3:
            raise NotImplementedError("interpolate: mode 'area' on 5D input needs 3-D adaptive "
                                      "pooling, which layerwise does not have")
        return (adaptive_avg_pool1d if k == 1 else adaptive_avg_pool2d)(input, out)
    x = input
    for axis, (n, m, s) in enumerate(zip(in_sizes, out, scales), start=2):
        if mode in ("nearest", "nearest-exact"):
            shift = 0.5 if mode == "nearest-exact" else 0.0
            src = np.minimum(np.floor((np.arange(m) + shift) * s).astype(np.int64), n - 1)
            x = x.index_select(axis, Tensor._wrap(src))
        else:
            x = _linear_axis(x, axis, n, m, s, bool(align_corners))
    return x


def _linear_axis(x, axis, n, m, s, align_corners):
    """Linear interpolation of one axis from size n to m (see the module docstring)."""
    d = np.arange(m, dtype=np.float64)
    if align_corners:
        pos = d * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        pos = np.maximum((d + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = (pos - i0).astype(x.array.dtype)
    shape = [1] * x.ndim
    shape[axis] = m
    lam = Tensor._wrap(lam.reshape(shape))
    lo = x.index_select(axis, Tensor._wrap(i0))
    hi = x.index_select(axis, Tensor._wrap(i1))
    return lo + (hi - lo) * lam


def _upscale(factor, who, name):
    if not isinstance(factor, numbers.Integral) or factor <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {factor!r}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) → (*, C, H·r, W·r): channel c·r² + i·r + j goes to offset (i, j) of each
    r × r block (sub-pixel convolution's rearrangement)."""
    r = _upscale(upscale_factor, "pixel_shuffle", "upscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    n = len(lead)
    y = input.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)          # (*, C, H, r, W, r)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """The inverse of pixel_shuffle: (*, C, H·r, W·r) → (*, C·r², H, W)."""
    r = _upscale(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    y = input.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)          # (*, C, r, r, H, W)
    return y.reshape(*lead, c * r * r, h // r, w // r)


class Upsample(Module):
    """interpolate(input, size, scale_factor, mode, align_corners) as a layer."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling with align_corners=True (as torch's legacy layer)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
