"""Dropout layers: Dropout, Dropout1d, Dropout2d, AlphaDropout (train/eval aware).

In training each element (or whole channel, for Dropout1d/2d) is zeroed with
probability p and the kept ones are scaled by 1/(1 − p), so the expected output
equals the input; in eval mode they are the identity.  Masks are drawn from
layerwise's generator (``lw.manual_seed``); they cannot follow torch's random
stream, so parity is tested at p = 0, in eval mode and with injected masks.
"""
from __future__ import annotations

import warnings

from ..backend import asarray, get_array_module
from ..ops import dropout as D
from ..random import get_generator
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]
__functional__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"]


def _check_p(p, who):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, generator=None):
    """A boolean mask of ``shape`` that keeps each entry with probability 1 − p."""
    return get_generator(generator).random(shape) >= p


def _apply(x, p, training, inplace, mask_shape, who, generator=None):
    _check_p(p, who)
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(x).__name__}")
    if not training or p == 0.0:
        return x
    if not x.is_floating_point():
        raise TypeError(f"{who}: expected a floating point input, got {x.dtype}")
    if p == 1.0:
        mask, scale = _keep_mask(mask_shape, 2.0), 0.0       # drop everything (no 1/0 scale)
    else:
        mask, scale = _keep_mask(mask_shape, p, generator), 1.0 / (1.0 - p)
    mask = asarray(mask, xp=get_array_module(x.array))          # drawn on the host
    if inplace:
        return x._inplace(lambda a: D.Dropout.apply(a, mask=mask, scale=scale))
    return D.Dropout.apply(x, mask=mask, scale=scale)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only)."""
    return _apply(input, p, training, inplace, input.shape, "dropout", generator)


def _channel_mask_shape(x, batched_ndim, who):
    if x.ndim not in (batched_ndim - 1, batched_ndim):
        spatial = {3: "L", 4: "H, W", 5: "D, H, W"}[batched_ndim]
        raise RuntimeError(f"{who}: expected input of shape (N, C, {spatial}) or (C, {spatial}), "
                           f"got {tuple(x.shape)}")
    lead = x.ndim - (batched_ndim - 2)                  # N, C (or just C)
    return tuple(x.shape[:lead]) + (1,) * (x.ndim - lead)


def dropout1d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p."""
    shape = _channel_mask_shape(input, 3, "dropout1d")
    return _apply(input, p, training, inplace, shape, "dropout1d", generator)


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels of (N, C, H, W) inputs with probability p.

    As torch, a 3-D input is read as (N, C, L) — channel-wise 1-D dropout — with a warning.
    """
    if input.ndim == 3:
        warnings.warn("dropout2d: received a 3D input; as torch, it is treated as (N, C, L) and "
                      "whole channels are dropped (use dropout1d for that)", UserWarning, stacklevel=2)
        shape = tuple(input.shape[:2]) + (1,)
    else:
        shape = _channel_mask_shape(input, 4, "dropout2d")
    return _apply(input, p, training, inplace, shape, "dropout2d", generator)


def dropout3d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p."""
    shape = _channel_mask_shape(input, 5, "dropout3d")
    return _apply(input, p, training, inplace, shape, "dropout3d", generator)


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):
    """Dropout for SELU networks: dropped units take SELU's saturation value, then an affine
    correction keeps mean 0 and variance 1."""
    _check_p(p, "alpha_dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask = asarray(_keep_mask(input.shape, p, generator), xp=get_array_module(input.array))
    if inplace:
        return input._inplace(lambda a: D.AlphaDropout.apply(a, mask=mask, p=p))
    return D.AlphaDropout.apply(input, mask=mask, p=p)


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_p(p, type(self).__name__)
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Elementwise dropout; the identity in eval mode."""

    def forward(self, x):
        return dropout(x, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel-wise dropout for (N, C, L) or (C, L) inputs."""

    def forward(self, x):
        return dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel-wise dropout for (N, C, H, W) or (C, H, W) inputs."""

    def forward(self, x):
        return dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Channel-wise dropout for (N, C, D, H, W) or (C, D, H, W) inputs."""

    def forward(self, x):
        return dropout3d(x, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that preserves SELU's mean and variance."""

    def forward(self, x):
        return alpha_dropout(x, self.p, self.training, self.inplace)
