"""Normalisation layers: LayerNorm, RMSNorm, GroupNorm, InstanceNorm1d/2d and their functionals.

    layer_norm:     y = γ·(x − μ)/√(σ² + eps) + β    μ, σ² over the trailing normalized_shape dims
    rms_norm:       y = γ·x/√(mean(x²) + eps)         eps=None: the dtype's machine epsilon
    group_norm:     (N, C, *) in G groups of C/G channels, μ, σ² per (sample, group); γ, β per channel
    instance_norm:  μ, σ² per (sample, channel) over the spatial dims; γ, β per channel

σ² is always the biased variance.  InstanceNorm can track running statistics (off by default,
as torch): in training they are updated in place with the per-instance mean and *unbiased*
variance averaged over the batch, in eval mode they replace the per-instance statistics.
The fused forward/backward ops are in ``layerwise/ops/norm.py``.
"""
from __future__ import annotations

import numbers
import warnings

from .. import dtypes as _dt
from ..backend import xp
from ..ops.batchnorm import BatchNormOp
from ..ops.norm import GroupNormOp, LayerNormOp, RMSNormOp
from ..tensor import Tensor
from . import init
from .batchnorm import _BatchNorm
from .module import Module
from .parameter import Parameter

# The modules (``from .normalization import *`` in layerwise/nn/__init__.py); the functionals
# are re-exported by name from layerwise/nn/functional.py.
__all__ = ["LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d"]
__functional__ = ["layer_norm", "rms_norm", "group_norm", "instance_norm"]


# ---------------------------------------------------------------------- argument checks
def _check_input(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point input, got {x.dtype.name}; convert it "
                        "with .float()")


def _check_param(name, what, t, shape, dtype):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise RuntimeError(f"{name}: {what} should have shape {tuple(shape)}, got {tuple(t.shape)}")
    if t.dtype != dtype:
        raise TypeError(f"{name}: {what} dtype {t.dtype.name} does not match the input dtype "
                        f"{dtype.name}")


def _shape_tuple(normalized_shape, name):
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        shape = (int(normalized_shape),)
    else:
        try:
            shape = tuple(int(s) for s in normalized_shape)
        except TypeError:
            raise TypeError(f"{name}: normalized_shape must be an int or a sequence of ints, got "
                            f"{normalized_shape!r}") from None
    if not shape:
        raise RuntimeError(f"{name}: normalized_shape must have at least one dim, got ()")
    if any(s <= 0 for s in shape):
        raise ValueError(f"{name}: normalized_shape must hold positive sizes, got {shape}")
    return shape


def _trailing(input, shape, name):
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        dims = ", ".join(str(s) for s in shape)
        raise RuntimeError(f"{name}: expected input of shape (*, {dims}) to match normalized_shape "
                           f"{shape}, got {tuple(input.shape)}")
    m = 1
    for s in shape:
        m *= s
    return input.numel() // m if m else 0, m


# ---------------------------------------------------------------------- functionals
def _layer_norm(input, normalized_shape, weight, bias, eps, name):
    _check_input(input, name)
    shape = _shape_tuple(normalized_shape, name)
    r, m = _trailing(input, shape, name)
    _check_param(name, "weight", weight, shape, input.dtype)
    _check_param(name, "bias", bias, shape, input.dtype)
    return LayerNormOp.apply(input, weight, bias, rows=(r, m), layout=(r, m, 1), eps=float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims ``normalized_shape``; γ/β of that shape (or None)."""
    return _layer_norm(input, normalized_shape, weight, bias, eps, "layer_norm")


def _rms_norm(input, normalized_shape, weight, eps, name):
    _check_input(input, name)
    shape = _shape_tuple(normalized_shape, name)
    r, m = _trailing(input, shape, name)
    _check_param(name, "weight", weight, shape, input.dtype)
    if eps is None:
        eps = float(xp.finfo(input.dtype.np).eps)
    return RMSNormOp.apply(input, weight, rows=(r, m), layout=(r, m, 1), eps=float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x/√(mean(x²) + eps)·γ over the trailing dims; eps=None is the dtype's machine epsilon
    (float32: 1.19e-7, float64: 2.22e-16), as torch."""
    return _rms_norm(input, normalized_shape, weight, eps, "rms_norm")


def _group_norm(input, num_groups, weight, bias, eps, name):
    _check_input(input, name)
    if input.ndim < 2:
        raise RuntimeError(f"{name}: expected input of shape (N, C, *), got {tuple(input.shape)}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or num_groups <= 0:
        raise ValueError(f"{name}: num_groups must be a positive int, got {num_groups!r}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"{name}: the {c} channels of the input of shape {tuple(input.shape)} "
                           f"are not divisible by num_groups={num_groups}")
    _check_param(name, "weight", weight, (c,), input.dtype)
    _check_param(name, "bias", bias, (c,), input.dtype)
    spatial = input.numel() // (n * c) if n * c else 0
    if n * (c // num_groups) * spatial == 1:
        raise ValueError(f"{name}: expected more than 1 value per group when training, got input "
                         f"of shape {tuple(input.shape)} with num_groups={num_groups}")
    g = int(num_groups)
    return GroupNormOp.apply(input, weight, bias, rows=(n * g, (c // g) * spatial),
                             layout=(n, c, spatial), eps=float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise (N, C, *) over groups of C/num_groups channels (and all spatial positions)."""
    return _group_norm(input, num_groups, weight, bias, eps, "group_norm")


def _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps,
                   name):
    _check_input(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: expected input of shape (N, C, *), got {tuple(input.shape)}")
    n, c = input.shape[:2]
    for what, t in (("weight", weight), ("bias", bias)):
        _check_param(name, what, t, (c,), input.dtype)
    for what, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None:
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
            if tuple(t.shape) != (c,):
                raise RuntimeError(f"{name}: {what} should have shape ({c},) for an input with {c} "
                                   f"channels, got {tuple(t.shape)}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{name}: running_mean and running_var must be given when "
                               "use_input_stats=False")
        return BatchNormOp.apply(input, weight, bias, running_mean=running_mean.array,
                                 running_var=running_var.array, training=False, eps=float(eps))
    spatial = input.numel() // (n * c) if n * c else 0
    if spatial <= 1:
        raise ValueError(f"{name}: expected more than 1 spatial element when training, got input "
                         f"of shape {tuple(input.shape)}")
    y = GroupNormOp.apply(input, weight, bias, rows=(n * c, spatial), layout=(n, c, spatial),
                          eps=float(eps), running_mean=None if running_mean is None else running_mean.array,
                          running_var=None if running_var is None else running_var.array,
                          momentum=float(momentum), stat_groups=(n, c))
    for t in (running_mean, running_var):
        if t is not None:
            t._version[0] += 1
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise (N, C, *) per sample and channel over the spatial dims.  With running stats
    and use_input_stats=True they are updated in place; use_input_stats=False normalises with
    them instead."""
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps, "instance_norm")


# ---------------------------------------------------------------------- modules
def _factory_dtype(dtype):
    return (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np


def _affine_parameters(module, shape, affine, bias, dtype):
    """Register ``weight`` (and ``bias``) of ``shape`` — or None when not affine — and initialise them."""
    d = _factory_dtype(dtype)
    if affine:
        module.weight = Parameter(xp.empty(shape, d))
        if bias:
            module.bias = Parameter(xp.empty(shape, d))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)
    module.reset_parameters()


def _reset_affine(module):
    """weight = 1, bias = 0 (torch's init for every norm layer)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Layer norm over the trailing ``normalized_shape`` dims.

    Parameters (elementwise_affine): weight (ones) and bias (zeros, unless bias=False), each
    of shape normalized_shape: 2·∏normalized_shape values (or ∏normalized_shape without bias).
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape, "LayerNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return _layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps, repr(self))

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """RMS norm over the trailing ``normalized_shape`` dims: y = x/√(mean(x²) + eps)·γ.

    eps=None uses the input dtype's machine epsilon.  Parameters (elementwise_affine): weight
    (ones) of shape normalized_shape; no bias.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape, "RMSNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(xp.empty(self.normalized_shape, _factory_dtype(dtype)))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return _rms_norm(x, self.normalized_shape, self.weight, self.eps, repr(self))

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group norm of (N, C, *): C channels in ``num_groups`` groups, statistics per sample and
    group.  Parameters (affine): weight (ones) and bias (zeros) of shape (C,): 2·C values."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__()
        for what, v in (("num_groups", num_groups), ("num_channels", num_channels)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"GroupNorm: {what} must be a positive int, got {v!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        name = repr(self)
        _check_input(input, name)
        if input.ndim < 2 or (self.affine and input.shape[1] != self.num_channels):
            raise RuntimeError(f"{name}: expected input of shape (N, {self.num_channels}, *), got "
                               f"{tuple(input.shape)}")
        return _group_norm(input, self.num_groups, self.weight, self.bias, self.eps, name)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d/2d: the parameters and buffers are BatchNorm's (weight, bias,
    running_mean, running_var, num_batches_tracked), the defaults are affine=False and
    track_running_stats=False, and num_batches_tracked is never advanced (as torch)."""

    _no_batch_dim = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input):
        name = repr(self)
        _check_input(input, name)
        nb = self._no_batch_dim
        spatial = {2: "L", 3: "H, W", 4: "D, H, W"}[nb]
        c = self.num_features
        if input.ndim not in (nb, nb + 1):
            raise ValueError(f"{name}: expected input of shape (N, {c}, {spatial}) or "
                             f"({c}, {spatial}), got {tuple(input.shape)}")
        feature_dim = input.ndim - nb
        if input.shape[feature_dim] != c:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{name}: expected input of shape (N, {c}, {spatial}) or "
                                 f"({c}, {spatial}) with {c} channels at dim {feature_dim}, got "
                                 f"{tuple(input.shape)}")
            warnings.warn(f"{name}: input's size at dim={feature_dim} does not match num_features "
                          f"({c}), got {tuple(input.shape)}; num_features is not used because "
                          "affine=False", stacklevel=2)
        x = input if input.ndim == nb + 1 else input.unsqueeze(0)
        y = _instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           self.training or not self.track_running_stats,
                           self.momentum if self.momentum is not None else 0.0, self.eps, name)
        return y if input.ndim == nb + 1 else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or (C, L): statistics per sample and channel over L.
    Parameters (affine): weight (ones), bias (zeros) of shape (C,)."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or (C, H, W): statistics per sample and channel over H, W.
    Parameters (affine): weight (ones), bias (zeros) of shape (C,)."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or (C, D, H, W): statistics per sample and channel over
    D, H, W.  Parameters (affine): weight (ones), bias (zeros) of shape (C,)."""

    _no_batch_dim = 4
