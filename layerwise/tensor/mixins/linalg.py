"""Matrix products (``ops/linalg.py``): matmul and its torch names, dot, outer.

``matmul`` checks the inner and batch sizes with one sentence before the op; ``LinalgMixin``
declares the products as Tensor methods and the ``@`` operator.
"""
from __future__ import annotations

from ... import dtypes as _dt
from ...ops import linalg as L
from ._common import broadcast_shape, reversed_operands
from .elementwise import mul
from .shape import reshape

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists


def _check_inner_sizes(a, b):
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        sa, sb = tuple(a.shape), tuple(b.shape)
        raise RuntimeError(f"matmul: shapes {sa} and {sb} cannot be multiplied ({ka} != {kb}: the "
                           "last dim of the first must equal the "
                           + ("first" if b.ndim == 1 else "second-to-last") + " dim of the second)")


def _check_batch_sizes(a, b):
    if a.ndim > 2 and b.ndim > 2:
        try:
            broadcast_shape(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} "
                               "cannot be broadcast") from None


def matmul(a, b):
    """Matrix product (batched, broadcasting); shapes are checked with a clear message."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul: both operands must be Tensors")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got {a.ndim}D and "
                           f"{b.ndim}D tensors")
    _check_inner_sizes(a, b)
    _check_batch_sizes(a, b)
    d = _dt.result_type(a, b)
    return L.MatMul.apply(a._cast(d), b._cast(d))


mm = bmm = matmul


def outer(a, b):
    return mul(reshape(a, -1, 1), reshape(b, 1, -1))


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


class LinalgMixin:
    """Tensor methods and the ``@`` operator for matrix products."""

    __slots__ = ()

    __matmul__, __rmatmul__ = matmul, reversed_operands(matmul)
    matmul = mm = bmm = matmul
    dot = dot
    outer = outer
