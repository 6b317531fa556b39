"""Small helpers shared by the op families."""
from __future__ import annotations

from ..backend import get_array_module


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``.

    The gradient of a broadcast is a sum: an operand of shape (3, 1) used as
    (2, 3, 4) receives the sum over axis 0 and axis 2 (kept).
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def normalize_dims(dim, ndim, op="op", reduce_all_if_empty=False):
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes.

    A 0-d tensor accepts dim 0 and -1 (as torch) but has no axis to name: the result is ().
    """
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims and reduce_all_if_empty:
        return tuple(range(ndim))        # torch: sum(dim=()) / amax(dim=()) reduce everything
    out = []
    for d in dims:
        if not isinstance(d, int):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {d!r}")
        lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
        if not lo <= d <= hi:
            raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                             f"[{lo}, {hi}], but got {d})")
        if ndim:
            out.append(d % ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {dims} appears multiple times")
    return tuple(sorted(out))


def expand_reduced(grad, shape, dims, keepdim):
    """Reshape the gradient of a reduction so that it broadcasts against the input."""
    if not keepdim and shape:
        kept = list(shape)
        for d in dims:
            kept[d] = 1
        grad = grad.reshape(kept)
    return grad


def zeros_like(a):
    xp = get_array_module(a)
    return xp.zeros_like(a)
