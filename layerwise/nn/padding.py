"""Padding: ``functional.pad`` and the padding layers (ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad, CircularPad in 1-d and 2-d), with torch's argument order and checks.

``pad`` lists the amounts from the *last* dimension backwards, two per dimension:
``(left, right)`` pads the last dimension, ``(left, right, top, bottom)`` the last two.
Negative amounts crop.  The forward and backward are two ops (``layerwise/ops``):

    constant   z = x surrounded by ``value``;  dL/dx = the centre of dL/dz     (shape.ConstantPad)
    reflect    z[t] = x[|t|] mirrored at both ends (edge not repeated)
    replicate  z[t] = x[clip(t, 0, n − 1)]
    circular   z[t] = x[t mod n]      (negative amounts crop first, then it wraps)
               for these three dL/dx[i] = Σ_{t: source(t) = i} dL/dz[t]       (conv.Pad)
"""
from __future__ import annotations

import numbers

from ..ops.conv import Pad
from ..ops.shape import ConstantPad
from ..tensor import Tensor
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]
__functional__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad ``input``'s trailing dimensions by ``pad`` = (left, right[, top, bottom[, front,
    back]]) amounts, last dimension first.  ``mode`` 'constant' (with ``value``, default 0)
    pads any number of dimensions; 'reflect', 'replicate' and 'circular' pad the last 1, 2 or
    3 dimensions of a batched or unbatched input (2-D/3-D, 3-D/4-D or 4-D/5-D)."""
    return _pad(input, pad, mode, value)


def _pad(input, pad, mode, value):
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a Tensor input, got {type(input).__name__}")
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) for p in pad):
        raise TypeError(f"pad: expected a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    m, nd, shape = len(pad) // 2, input.ndim, tuple(input.shape)
    if m > nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension {nd}")
    pairs = tuple((pad[2 * k], pad[2 * k + 1]) for k in reversed(range(m)))   # in axis order
    for (lo, hi), n in zip(pairs, shape[nd - m:]):
        if n + lo + hi < 0:
            raise RuntimeError(f"pad: padding {(lo, hi)} would leave a negative size for a "
                               f"dimension of size {n} (input {list(shape)})")
    if mode == "constant":
        full = ((0, 0),) * (nd - m) + pairs
        return ConstantPad.apply(input, pads=full, value=0.0 if value is None else value)
    if mode == "circular" and any(lo < 0 or hi < 0 for lo, hi in pairs):
        # as torch: circular padding crops by the negative amounts first, then wraps the
        # cropped tensor (reflect and replicate index the uncropped one: z[t] = x[source(t)])
        crop = (slice(None),) * (nd - m) + tuple(slice(max(-lo, 0), n - max(-hi, 0))
                                                 for (lo, hi), n in zip(pairs, shape[nd - m:]))
        flat = tuple(v for lo, hi in reversed(pairs) for v in (max(lo, 0), max(hi, 0)))
        return _pad(input[crop], flat, mode, value)
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if not (1 <= m <= 3 and nd in (m + 1, m + 2)):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {nd}D input tensor. Supported "
            "combinations for non-constant padding: 2D or 3D input with padding size 2 (the last "
            "dimension), 3D or 4D input with size 4 (the last 2), 4D or 5D input with size 6 "
            "(the last 3)")
    if any(n == 0 for n in shape[nd - m - 1:]):
        raise RuntimeError(f"pad ({mode}): expected a tensor with non-zero dimensions other than "
                           f"a batch dimension, got {list(shape)}")
    for d, ((lo, hi), n) in enumerate(zip(pairs, shape[nd - m:]), start=nd - m):
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of "
                               f"input {list(shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"Padding value causes wrapping around more than once: padding "
                               f"({lo}, {hi}) at dimension {d} of input {list(shape)}")
    return Pad.apply(input, pads=pairs, mode=mode)


def _amounts(padding, n, who):
    """An int → the same amount on every side; else a tuple of 2·n ints."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n or not all(isinstance(p, numbers.Integral) for p in padding):
        raise ValueError(f"{who}: padding must be an int or a tuple of {2 * n} ints, got {padding!r}")
    return tuple(int(p) for p in padding)


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _amounts(padding, self.dims, type(self).__name__)

    def forward(self, input):
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dimension with ``value``: input (C, W) or (N, C, W)."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = float(value)

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pads the last two dimensions with ``value``: input (C, H, W) or (N, C, H, W)."""
    dims = 2


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pads the last two dimensions with zeros."""
    dims = 2


class ReflectionPad1d(_PadNd):
    """Mirrors the last dimension at its ends (the edge value is not repeated)."""
    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    dims = 2


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dimension."""
    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    dims = 2


class CircularPad1d(_PadNd):
    """Wraps the last dimension around (periodic boundary)."""
    mode = "circular"


class CircularPad2d(CircularPad1d):
    dims = 2


class ConstantPad3d(ConstantPad1d):
    """Pads the last three dimensions with ``value``: input (C, D, H, W) or (N, C, D, H, W)."""
    dims = 3


class ZeroPad3d(ZeroPad1d):
    dims = 3


class ReflectionPad3d(ReflectionPad1d):
    dims = 3


class ReplicationPad3d(ReplicationPad1d):
    dims = 3


class CircularPad3d(CircularPad1d):
    dims = 3
