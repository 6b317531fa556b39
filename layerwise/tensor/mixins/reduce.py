"""Reductions (``ops/reduce.py``): sums, means, variances, extremes, norms; sorting and top-k.

Each function normalises ``dim``/``keepdim`` and the dtype as torch does (an integer sum is
int64, the mean of an integer tensor is an error), then calls the op.  ``ReduceMixin``
declares them as Tensor methods (``t.sum(1)``, ``t.max(dim=0)``).
"""
from __future__ import annotations

import builtins
import collections

from ... import dtypes as _dt
from ...backend import get_array_module
from ...ops import reduce as R
from ...ops._util import normalize_dims
from ._common import as_float_input, require_float, wrap_dim
from .elementwise import clone, maximum, minimum
from .index import gather
from .shape import reshape

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists

_MinMax = collections.namedtuple("_MinMax", ["values", "indices"])


def _reduce_dims(x, dim, name):
    return normalize_dims(dim, x.ndim, name, reduce_all_if_empty=True)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


# ---------------------------------------------------------------------- sums and moments
def sum(x, dim=None, keepdim=False, *, dtype=None):
    """Σ over ``dim`` (all dims by default); bool and integer tensors sum to int64, as torch."""
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    elif not x.is_floating_point():
        x = x._cast(_dt.int64)
    return R.Sum.apply(x, dims=_reduce_dims(x, dim, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    require_float(x, "mean")
    return R.Mean.apply(x, dims=_reduce_dims(x, dim, "mean"), keepdim=keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Σ(x − x̄)²/(n − correction); correction defaults to 1 (Bessel), as torch."""
    if isinstance(dim, builtins.bool):                 # var(False): the old positional unbiased
        dim, unbiased = None, dim
    require_float(x, "var")
    return R.Var.apply(x, dims=_reduce_dims(x, dim, "var"),
                       correction=_correction(unbiased, correction), keepdim=keepdim)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """√var; the gradient of a constant slice is 0 (as torch), not NaN."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    require_float(x, "std")
    return R.Std.apply(x, dims=_reduce_dims(x, dim, "std"),
                       correction=_correction(unbiased, correction), keepdim=keepdim)


def prod(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    elif not x.is_floating_point():
        x = x._cast(_dt.int64)
    if dim is not None:
        dim = wrap_dim(dim, x.ndim, "prod") if x.ndim else None     # a 0-d tensor: itself
    return R.Prod.apply(x, dim=dim, keepdim=keepdim)


def logsumexp(x, dim, keepdim=False):
    x = as_float_input(x, "logsumexp")
    return R.LogSumExp.apply(x, dims=_reduce_dims(x, dim, "logsumexp"), keepdim=keepdim)


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default); 'fro' is p = 2."""
    require_float(x, "norm")
    p = 2.0 if p in ("fro", None) else float(p)
    return R.Norm.apply(x, p=p, dims=_reduce_dims(x, dim, "norm"), keepdim=keepdim)


def cumsum(x, dim):
    if not x.is_floating_point():
        x = x._cast(_dt.int64)
    if x.ndim == 0:
        wrap_dim(dim, 0, "cumsum")
        return clone(x)
    return R.Cumsum.apply(x, dim=wrap_dim(dim, x.ndim, "cumsum"))


# ---------------------------------------------------------------------- extremes
def _max_min(x, dim, keepdim, largest, name):
    if isinstance(dim, Tensor):                       # max(a, b) == maximum
        return (maximum if largest else minimum)(x, dim)
    if x.numel() == 0 and dim is None:
        raise RuntimeError(f"{name}(): expected a non-empty tensor when no dim is given")
    if dim is not None and x.ndim == 0:               # a 0-d tensor: (itself, 0), as torch
        wrap_dim(dim, 0, name)
        x, keepdim = reshape(x, 1), False
    if dim is None:
        return R.AmaxAmin.apply(x, dims=tuple(range(x.ndim)), keepdim=False, largest=largest)
    values, indices = R.MaxMinDim.apply(x, dim=wrap_dim(dim, x.ndim, name), keepdim=keepdim,
                                        largest=largest)
    return _MinMax(values, indices)


def max(x, dim=None, keepdim=False):
    """max() of all elements (ties share the gradient) or (values, indices) along ``dim``."""
    return _max_min(x, dim, keepdim, True, "max")


def min(x, dim=None, keepdim=False):
    return _max_min(x, dim, keepdim, False, "min")


def amax(x, dim=(), keepdim=False):
    dims = _reduce_dims(x, dim if dim != () else None, "amax")
    return R.AmaxAmin.apply(x, dims=dims, keepdim=keepdim, largest=True)


def amin(x, dim=(), keepdim=False):
    dims = _reduce_dims(x, dim if dim != () else None, "amin")
    return R.AmaxAmin.apply(x, dims=dims, keepdim=keepdim, largest=False)


def _arg_extreme(fn_name, x, dim, keepdim, name):
    xp = get_array_module(x.array)
    arg = getattr(xp, fn_name)
    int64 = _dt.int64.np
    if dim is None:
        i = xp.asarray(arg(x.array), dtype=int64)
        return Tensor._wrap(i.reshape((1,) * x.ndim) if keepdim else i)
    if x.ndim == 0:
        wrap_dim(dim, 0, name)
        return Tensor._wrap(xp.zeros((), dtype=int64))
    return Tensor._wrap(arg(x.array, axis=wrap_dim(dim, x.ndim, name), keepdims=keepdim).astype(int64))


def argmax(x, dim=None, keepdim=False):
    return _arg_extreme("argmax", x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg_extreme("argmin", x, dim, keepdim, "argmin")


# ---------------------------------------------------------------------- logical reductions
def all(x, dim=None, keepdim=False):
    return Tensor._wrap(get_array_module(x.array).all(x.array, axis=dim, keepdims=keepdim))


def any(x, dim=None, keepdim=False):
    return Tensor._wrap(get_array_module(x.array).any(x.array, axis=dim, keepdims=keepdim))


def count_nonzero(x, dim=None):
    xp = get_array_module(x.array)
    return Tensor._wrap(xp.asarray(xp.count_nonzero(x.array, axis=dim), dtype=_dt.int64.np))


# ---------------------------------------------------------------------- sorting
def _stable_order(x, dim, descending):
    """The int64 indices that sort ``x`` along ``dim`` (ties keep their order)."""
    xp = get_array_module(x.array)
    a = -x.array if descending else x.array
    return xp.argsort(a, axis=dim, kind="stable").astype(_dt.int64.np)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along ``dim`` and their indices (differentiable values)."""
    if x.ndim == 0:
        v, i = topk(reshape(x, 1), k, 0, largest, sorted)
        return _MinMax(reshape(v, ()), reshape(i, ())) if k == 1 else _MinMax(v, i)
    dim = wrap_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[dim]:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {x.shape[dim]}")
    xp = get_array_module(x.array)
    a = x.array if largest else -x.array
    order = xp.argsort(-a, axis=dim, kind="stable")
    idx = xp.take(order, xp.arange(k), axis=dim).astype(_dt.int64.np)
    return _MinMax(gather(x, dim, Tensor._wrap(idx)), Tensor._wrap(idx))


def sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        wrap_dim(dim, 0, "sort")
        xp = get_array_module(x.array)
        return _MinMax(clone(x), Tensor._wrap(xp.zeros((), dtype=_dt.int64.np)))
    dim = wrap_dim(dim, x.ndim, "sort")
    idx = _stable_order(x, dim, descending)
    return _MinMax(gather(x, dim, Tensor._wrap(idx)), Tensor._wrap(idx))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


class ReduceMixin:
    """Tensor methods for reductions, sorting and top-k (the functions of this module)."""

    __slots__ = ()

    sum = sum
    mean = mean
    var = var
    std = std
    prod = prod
    logsumexp = logsumexp
    norm = norm
    cumsum = cumsum
    max = max
    min = min
    amax = amax
    amin = amin
    argmax = argmax
    argmin = argmin
    all = all
    any = any
    count_nonzero = count_nonzero
    topk = topk
    sort = sort
    argsort = argsort
