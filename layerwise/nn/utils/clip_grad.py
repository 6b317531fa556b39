"""Gradient clipping, in place on the ``.grad`` of parameters (no graph is recorded)."""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False):
    """The norm of all the tensors taken together, as if concatenated into one vector."""
    norm_type = float(norm_type)
    arrays = [t.array for t in tensors]
    if not arrays:
        return Tensor._wrap(np.asarray(0.0, np.float32))
    dtype = arrays[0].dtype
    if norm_type == math.inf:
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    elif norm_type == 2.0:
        # float64 accumulation of the squares: exact enough and no overflow for float32 grads
        total = math.sqrt(sum(float(np.dot(a.ravel().astype(np.float64), a.ravel().astype(np.float64)))
                              for a in arrays))
    else:
        total = sum(float((np.abs(a.astype(np.float64)) ** norm_type).sum()) for a in arrays) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped; pass error_if_nonfinite=False to "
                           "clip anyway")
    return Tensor._wrap(np.asarray(total, dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)); return the total norm.

    The norm is over all gradients together, as torch's.
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    coef = float(max_norm) / (float(total.item()) + 1e-6)
    if coef < 1.0:
        for g in grads:
            g.array *= g.array.dtype.type(coef)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [−clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g.array, -clip_value, clip_value, out=g.array)
