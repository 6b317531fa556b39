"""Batch normalisation: the functional ``batch_norm`` and the layers BatchNorm1d / BatchNorm2d.

    y = γ·(x − μ)/√(σ² + eps) + β      per channel (dim 1)

Training normalises with the batch mean and *biased* batch variance and, when running stats
are tracked, updates them in place (no graph):
    running_mean ← (1 − momentum)·running_mean + momentum·μ
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_unbiased
momentum=None (modules only) uses the cumulative average: momentum = 1/num_batches_tracked.
Eval normalises with the running stats (or with batch stats when none are tracked).  The
fused forward/backward is ``layerwise/ops/batchnorm.py``.
"""
from __future__ import annotations


from .. import dtypes as _dt
from ..backend import xp
from ..ops.batchnorm import BatchNormOp
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

# The modules (``from .batchnorm import *`` in layerwise/nn/__init__.py); ``batch_norm`` is
# re-exported by name from layerwise/nn/functional.py.
__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
__functional__ = ["batch_norm"]


def _check_vec(name, what, t, c, dtype):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != (c,):
        raise RuntimeError(f"{name}: {what} should have shape ({c},) for an input with {c} "
                           f"channels, got {tuple(t.shape)}")
    if what in ("weight", "bias") and t.dtype != dtype:
        raise TypeError(f"{name}: {what} dtype {t.dtype.name} does not match the input dtype "
                        f"{dtype.name}")


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{name}: expected input of shape (N, C, *), got {tuple(input.shape)}")
    if not input.is_floating_point():
        raise TypeError(f"{name}: expected a floating point input, got {input.dtype}; convert it "
                        "with .float()")
    c = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_vec(name, what, t, c, input.dtype)
    if training:
        per_channel = input.numel() // c if c else 0
        if per_channel <= 1:
            raise ValueError(f"{name}: Expected more than 1 value per channel when training, got "
                             f"input size {tuple(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError(f"{name}: running_mean and running_var must be defined in evaluation mode")
    if momentum is None:
        raise ValueError(f"{name}: momentum must be a float (None is only meaningful for the "
                         "BatchNorm modules, which then use a cumulative average)")
    update = training and (running_mean is not None or running_var is not None)
    y = BatchNormOp.apply(
        input, weight, bias,
        running_mean=running_mean.array if running_mean is not None else None,
        running_var=running_var.array if running_var is not None else None,
        training=bool(training), momentum=float(momentum), eps=float(eps))
    if update:
        for t in (running_mean, running_var):
            if t is not None:
                t._version[0] += 1
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise (N, C, *) per channel; see the module docstring.  In training the given
    running stats are updated in place."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       "batch_norm")


class _BatchNorm(Module):
    _shapes = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got "
                             f"{num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self._bias = bias
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        if affine:
            self.weight = Parameter(xp.empty((num_features,), d))
            if bias:
                self.bias = Parameter(xp.empty((num_features,), d))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(xp.zeros((num_features,), d)))
            self.register_buffer("running_var", Tensor._wrap(xp.ones((num_features,), d)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(xp.zeros((), xp.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0
            for t in (self.running_mean, self.running_var, self.num_batches_tracked):
                t._version[0] += 1

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(x).__name__}")
        ranks, text = self._ranks()
        if x.ndim not in ranks:
            raise ValueError(f"{self!r}: expected input of shape {text}, got {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"{self!r}: expected input of shape {text} with C = "
                               f"{self.num_features} channels, got {tuple(x.shape)}")

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.array[...] += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return _batch_norm(input, self.running_mean if keep else None,
                           self.running_var if keep else None, self.weight, self.bias,
                           use_batch_stats, factor, self.eps, repr(self))

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self._bias if self.affine else False}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): statistics per channel over N (and L)."""

    def _ranks(self):
        c = self.num_features
        return (2, 3), f"(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): statistics per channel over N, H and W."""

    def _ranks(self):
        return (4,), f"(N, {self.num_features}, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W): statistics per channel over N, D, H and W."""

    def _ranks(self):
        return (5,), f"(N, {self.num_features}, D, H, W)"


