"""Softmax and activations as Tensor methods (``ops/softmax.py``, ``ops/activation.py``).

``t.softmax(dim)``, ``t.log_softmax(dim)`` and ``t.relu()`` call their ops directly: the Tensor
core does not go through ``nn.functional`` (which sits above it).
"""
from __future__ import annotations

from ... import dtypes as _dt
from ...ops import activation as A
from ...ops import softmax as SM
from ._common import as_float_input, wrap_dim

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists


def softmax(x, dim=None, dtype=None):
    x = as_float_input(x, "softmax") if dtype is None else x._cast(_dt.as_dtype(dtype))
    return SM.Softmax.apply(x, dim=wrap_dim(-1 if dim is None else dim, x.ndim, "softmax"))


def log_softmax(x, dim=None, dtype=None):
    x = as_float_input(x, "log_softmax") if dtype is None else x._cast(_dt.as_dtype(dtype))
    return SM.LogSoftmax.apply(x, dim=wrap_dim(-1 if dim is None else dim, x.ndim, "log_softmax"))


def relu(x):
    """max(x, 0), with relu'(0) = 0.  Works on integer tensors too, as torch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"relu: expected input to be a Tensor, got {type(x).__name__}")
    return A.ReLU.apply(x)


class ActivationMixin:
    """Tensor methods for softmax, log-softmax and relu."""

    __slots__ = ()

    softmax = softmax
    log_softmax = log_softmax
    relu = relu
