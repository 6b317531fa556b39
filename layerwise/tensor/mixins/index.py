"""Indexing (``ops/shape.py``'s index ops): ``t[i]``, ``t[i] = v``, gather, scatter_add,
index_select, masked_fill.

Index tensors and lists become integer (or bool) arrays of the indexed tensor's array module;
integer indices are checked against the size of their dim with one sentence naming the
function.  ``IndexMixin`` declares them as Tensor methods and the ``[]`` operators.
"""
from __future__ import annotations

from ... import dtypes as _dt
from ...backend import asarray, get_array_module, is_array
from ...ops import elementwise as E
from ...ops import shape as S
from ._common import HOST_ARRAY, HOST_INTEGER, broadcast_shape, wrap_dim
from .shape import reshape

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists


def normalize_index(index, t):
    """``index`` as a tuple for ``t.array[...]``: Tensors as their arrays, lists and host
    arrays moved to ``t``'s array module, NumPy integers as ints; index arrays must be
    integer or bool."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.array
        elif isinstance(i, (list, HOST_ARRAY)):
            i = asarray(i, xp=get_array_module(t.array))
        elif isinstance(i, HOST_INTEGER):
            i = int(i)
        if is_array(i) and i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be long, int or bool tensors, got {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x, index):
    idx = normalize_index(index, x)
    try:
        return S.Getitem.apply(x, index=idx)
    except IndexError as e:
        raise IndexError(f"invalid index for a tensor of shape {tuple(x.shape)}: {e}") from None


def _value_to_set(t, value):
    """The value of ``t[index] = value`` as a Tensor of ``t``'s dtype and array module."""
    if isinstance(value, Tensor):
        return value
    if hasattr(value, "item") and not is_array(value):
        value = value.item()                   # a NumPy scalar
    return Tensor._wrap(asarray(value, dtype=t.array.dtype, xp=get_array_module(t.array)))


def setitem(x, index, value):
    """``x[index] = value`` in place (differentiable in both, through ``IndexPut``)."""
    idx = normalize_index(index, x)
    value = _value_to_set(x, value)
    try:
        x._inplace(lambda a, v: S.IndexPut.apply(a, v._cast(a.dtype), index=idx), value)
    except (IndexError, ValueError) as e:
        raise (IndexError if isinstance(e, IndexError) else RuntimeError)(
            f"invalid assignment to an index of a tensor of shape {tuple(x.shape)} "
            f"(value of shape {tuple(value.shape)}): {e}") from None


# ---------------------------------------------------------------------- index tensors
def _index_array(index, name):
    if not isinstance(index, Tensor) or index.array.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected an int64 index tensor, got "
                           f"{index.dtype if isinstance(index, Tensor) else type(index).__name__}")
    return index.array


def _check_range(idx, size, name, dim):
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{name}: index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_gather_sizes(x, idx, dim):
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index tensor must have the same number of dimensions as input "
                           f"({x.ndim}), got {idx.ndim}")
    for d in range(x.ndim):
        if d != dim and idx.shape[d] > x.shape[d]:
            raise RuntimeError(f"gather: size of index {idx.shape} does not match the input "
                               f"{tuple(x.shape)}: index.size({d}) = {idx.shape[d]} must be <= "
                               f"input.size({d}) = {x.shape[d]} (except in dimension {dim})")


def gather(x, dim, index):
    idx = _index_array(index, "gather")
    if x.ndim == 0 and idx.ndim == 0:
        return reshape(gather(reshape(x, 1), wrap_dim(dim, 0, "gather"), reshape(index, 1)), ())
    dim = wrap_dim(dim, x.ndim, "gather")
    _check_gather_sizes(x, idx, dim)
    _check_range(idx, x.shape[dim], "gather", dim)
    return S.Gather.apply(x, dim=dim, index=idx % x.shape[dim] if x.shape[dim] else idx)


def _check_scatter_sizes(x, idx, src, dim):
    if not idx.ndim == x.ndim == src.ndim:
        raise RuntimeError(f"scatter_add: index ({idx.ndim}-D), self ({x.ndim}-D) and src "
                           f"({src.ndim}-D) must have the same number of dimensions")
    if any(i > s for i, s in zip(idx.shape, src.shape)) or any(
            i > s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != dim):
        raise RuntimeError(f"scatter_add: expected index {list(idx.shape)} to be no larger than "
                           f"self {list(x.shape)} apart from dimension {dim} and to be no larger "
                           f"than src {list(src.shape)}")


def scatter_add(x, dim, index, src):
    dim = wrap_dim(dim, x.ndim, "scatter_add")
    idx = _index_array(index, "scatter_add")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    _check_scatter_sizes(x, idx, src, dim)
    _check_range(idx, x.shape[dim], "scatter_add", dim)
    d = _dt.result_type(x, src)
    return S.ScatterAdd.apply(x._cast(d), src._cast(d), dim=dim, index=idx)


def index_select(x, dim, index):
    idx = _index_array(index, "index_select")
    if x.ndim == 0:
        wrap_dim(dim, 0, "index_select")
        if idx.size != 1:
            raise IndexError(f"index_select(): index to a 0-d tensor can have only 1 value, got {idx.size}")
        return reshape(index_select(reshape(x, 1), 0, Tensor._wrap(idx.reshape(1))), ())
    dim = wrap_dim(dim, x.ndim, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select: index must be 1-D")
    _check_range(idx, x.shape[dim], "index_select", dim)
    return S.IndexSelect.apply(x, dim=dim, index=idx.reshape(-1))


# ---------------------------------------------------------------------- masks
def _mask_array(x, mask):
    """The bool mask as an array of ``x``'s array module, broadcastable to ``x``."""
    m = mask.array if isinstance(mask, Tensor) else asarray(mask, xp=get_array_module(x.array))
    if m.dtype != _dt.bool_.np:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {m.dtype}")
    try:
        shape = broadcast_shape(x.array.shape, m.shape)
    except ValueError:
        shape = None
    if shape != x.array.shape:
        raise RuntimeError(f"masked_fill: the mask of shape {m.shape} must be broadcastable to the "
                           f"tensor's shape {tuple(x.shape)}")
    return m


def masked_fill(x, mask, value):
    m = _mask_array(x, mask)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s)")
        if value.requires_grad:             # differentiable in the value, as torch
            return E.Where.apply(value._cast(x.dtype), x, cond=m)
        value = value.item()
    return S.MaskedFill.apply(x, mask=m, value=value)


class IndexMixin:
    """Tensor methods and operators for indexing (the functions of this module)."""

    __slots__ = ()

    __getitem__ = getitem
    __setitem__ = setitem
    gather = gather
    scatter_add = scatter_add
    index_select = index_select
    masked_fill = masked_fill
