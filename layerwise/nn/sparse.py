"""Embedding layers and their functional forms, as torch.nn / torch.nn.functional.

``embedding`` / ``Embedding`` look up rows of a (num_embeddings, embedding_dim) table;
``embedding_bag`` / ``EmbeddingBag`` pool bags of rows (sum, mean or max) without building the
per-index embeddings.  torch's semantics throughout:

* init N(0, 1), the ``padding_idx`` row zeroed; that row gets no gradient and is left out of bags
  (a negative padding_idx counts from the end);
* ``max_norm``: the looked-up rows whose ``norm_type``-norm exceeds max_norm are rescaled to
  max_norm **in place** in the weight, before the lookup and outside autograd;
* ``scale_grad_by_freq``: each row's gradient is divided by its index's count in the input;
* EmbeddingBag takes a 1-D input with ``offsets`` (bag b starts at offsets[b]; with
  ``include_last_offset`` offsets has one more entry, the end of the last bag) or a 2-D input
  (N, L) of N bags of L indices; empty bags give zeros; ``per_sample_weights`` only with 'sum'.

Differences from torch, by design: ``sparse=True`` raises NotImplementedError (layerwise has no
sparse tensors; the dense gradient is the same numbers); an out-of-range index raises an
IndexError naming the index, its position and num_embeddings, a float index a TypeError, a bad
padding_idx or _weight shape a ValueError (torch: AssertionError); EmbeddingBag's
``scale_grad_by_freq``
divides by the true count (torch 2.13's CPU kernel divides some rows by another row's count,
pytorch/pytorch#190063); with ``include_last_offset``, indices after offsets[-1] belong to no
bag in every mode (torch's CPU kernel agrees only for float32 'sum' and otherwise folds them into
the last bag).

The math, forward and backward, is in ``layerwise/ops/embedding.py``.
"""
from __future__ import annotations

import numbers

from .. import dtypes as _dt
from ..backend import is_writeable, xp
from ..device import as_device
from ..ops.embedding import EmbeddingBagOp, EmbeddingOp
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

# The modules (``from .sparse import *`` in layerwise/nn/__init__.py); the functional forms are
# re-exported by name from layerwise/nn/functional.py (``__functional__``).
__all__ = ["Embedding", "EmbeddingBag"]
__functional__ = ["embedding", "embedding_bag"]

_SPARSE = ("sparse=True is not supported: layerwise has no sparse tensors, so the weight gradient "
           "is always dense; use sparse=False (the gradient holds the same values)")


# ---------------------------------------------------------------------------------- arguments
def _check_weight(name, weight, need_float, error=RuntimeError):
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}: expected weight to be a Tensor, got {type(weight).__name__}")
    if weight.ndim != 2:
        raise error(f"{name}: 'weight' must be 2-D (num_embeddings, embedding_dim), got shape "
                    f"{tuple(weight.shape)}")
    if need_float and not weight.is_floating_point():
        raise TypeError(f"{name}: expected a floating point weight, got {weight.dtype.name}")


def _check_indices(name, input, num, what="input"):
    """An integer index Tensor with every value in [0, num)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected {what} to be an integer Tensor of indices, got "
                        f"{type(input).__name__}")
    arr = input.array
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected {what} to hold integer indices (int64 or int32), got "
                        f"{input.dtype.name}; indices select rows of the weight, convert them "
                        "with .long()")
    if arr.size and (arr.min() < 0 or arr.max() >= num):
        bad = (arr < 0) | (arr >= num)
        where = tuple(int(i) for i in xp.argwhere(bad)[0])
        where = where[0] if len(where) == 1 else where
        raise IndexError(f"{name}: index {int(arr[bad][0])} (at position {where} of {what}) is "
                         f"out of range for num_embeddings={num}; valid indices are 0 to {num - 1}")
    return arr


def _padding_idx(name, padding_idx, num):
    """None, or padding_idx in [-num, num) normalised to [0, num)."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"{name}: padding_idx must be an int or None, got {padding_idx!r}")
    padding_idx = int(padding_idx)
    if not -num <= padding_idx < num:
        raise ValueError(f"{name}: padding_idx must be within num_embeddings: got {padding_idx} "
                         f"for num_embeddings={num} (valid: {-num} to {num - 1})")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _norms(rows, p):
    """The p-norm of each row (float64) as torch.linalg.vector_norm: p = ±inf, 0 or any real."""
    a = xp.abs(rows.astype(xp.float64))
    if p == float("inf"):
        return a.max(axis=1)
    if p == float("-inf"):
        return a.min(axis=1)
    if p == 0:
        return (a != 0).sum(axis=1).astype(xp.float64)
    with xp.errstate(divide="ignore", over="ignore"):
        return (a ** p).sum(axis=1) ** (1.0 / p)


def _renorm_(name, weight, indices, max_norm, norm_type):
    """Rescale in place (no graph) the rows of ``weight`` named in ``indices`` whose norm exceeds
    max_norm to norm max_norm: row *= max_norm / (norm + 1e-7), as torch.embedding_renorm_."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"{name}: max_norm must be a number or None, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{name}: norm_type must be a number, got {norm_type!r}")
    if not weight.is_floating_point():
        raise TypeError(f"{name}: max_norm needs a floating point weight, got {weight.dtype.name}")
    if not is_writeable(weight.array):
        raise RuntimeError(f"{name}: max_norm renormalises the weight in place, but its memory is "
                           "not writable (an expanded view?); clone() it first")
    rows = xp.unique(indices)
    if rows.size:
        w = weight.array
        norms = _norms(w[rows], float(norm_type))
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] *= scale[:, None]
    weight._version[0] += 1          # an in-place change, as torch's, even when nothing moved


# ---------------------------------------------------------------------------------- embedding
def _embedding(name, input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse):
    if sparse:
        raise NotImplementedError(f"{name}: {_SPARSE}")
    _check_weight(name, weight, need_float=False)
    num = weight.shape[0]
    idx = _check_indices(name, input, num)
    padding_idx = _padding_idx(name, padding_idx, num)
    if max_norm is not None:
        _renorm_(name, weight, idx, max_norm, norm_type)
    return EmbeddingOp.apply(weight, input, padding_idx=padding_idx,
                             scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[input]: shape (*input.shape, embedding_dim).  See the module docstring."""
    return _embedding("embedding", input, weight, padding_idx, max_norm, norm_type,
                      scale_grad_by_freq, sparse)


# ---------------------------------------------------------------------------------- embedding_bag
_MODES = ("sum", "mean", "max")


def _bag_bounds(name, input, offsets, include_last_offset, n):
    """The bag boundaries (B + 1,) from a 1-D input with offsets, or from a 2-D input."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{name}: if input is 2D, then offsets has to be None, as input is "
                             "treated as a mini-batch of fixed length sequences; got offsets of "
                             f"type {type(offsets).__name__}")
        rows, length = input.shape
        return xp.arange(rows + 1, dtype=xp.int64) * length
    if input.ndim != 1:
        raise ValueError(f"{name}: input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if offsets is None:
        raise ValueError(f"{name}: offsets has to be a 1D Tensor but got None (a 1-D input needs "
                         "offsets; a 2-D input (N, L) holds N bags of L indices)")
    if not isinstance(offsets, Tensor):
        raise TypeError(f"{name}: expected offsets to be an integer Tensor, got "
                        f"{type(offsets).__name__}")
    if offsets.ndim != 1:
        raise ValueError(f"{name}: offsets has to be a 1D Tensor, got shape {tuple(offsets.shape)}")
    off = offsets.array
    if off.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer offsets (int64 or int32), got "
                        f"{offsets.dtype.name}")
    off = off.astype(xp.int64)
    if include_last_offset:
        if off.size < 1:
            raise RuntimeError(f"{name}: include_last_offset: number of offsets should be at "
                               "least 1 (the end of the last bag)")
        bounds = off
    else:
        bounds = xp.append(off, n) if off.size else xp.zeros(1, xp.int64)     # no offsets: no bags
    if off.size:
        if off[0] != 0:
            raise RuntimeError(f"{name}: offsets[0] has to be 0, i.e., the first bag has to start "
                               f"at position 0 of the input; got {int(off[0])}")
        if off[-1] > n:
            raise RuntimeError(f"{name}: offsets[-1] can not be greater than the input's length "
                               f"{n}, but got offsets[-1] of {int(off[-1])}")
        steps = xp.diff(off)
        if (steps < 0).any():
            b = int(xp.flatnonzero(steps < 0)[0])
            raise RuntimeError(f"{name}: offsets must be non-decreasing, but offsets[{b}] = "
                               f"{int(off[b])} > offsets[{b + 1}] = {int(off[b + 1])}")
    return bounds


def _embedding_bag(name, input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode,
                   sparse, per_sample_weights, include_last_offset, padding_idx):
    if sparse:
        raise NotImplementedError(f"{name}: {_SPARSE}")
    _check_weight(name, weight, need_float=True, error=ValueError)
    num = weight.shape[0]
    idx = _check_indices(name, input, num)
    if per_sample_weights is not None:
        if not isinstance(per_sample_weights, Tensor):
            raise TypeError(f"{name}: expected per_sample_weights to be a Tensor or None, got "
                            f"{type(per_sample_weights).__name__}")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"{name}: If per_sample_weights {tuple(per_sample_weights.shape)} is "
                             "not None, then it must have the same shape as the input "
                             f"{tuple(input.shape)}")
        if per_sample_weights.dtype != weight.dtype:
            raise TypeError(f"{name}: per_sample_weights dtype {per_sample_weights.dtype.name} "
                            f"does not match the weight dtype {weight.dtype.name}")
    bounds = _bag_bounds(name, input, offsets, include_last_offset, idx.size)
    if mode not in _MODES:
        raise ValueError(f"{name}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{name}: max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{name}: per_sample_weights was not None. per_sample_weights "
                                  f"is only supported for mode='sum' (got mode={mode!r})")
    padding_idx = _padding_idx(name, padding_idx, num)
    if max_norm is not None:
        _renorm_(name, weight, idx, max_norm, norm_type)
    inputs = (weight, input) if per_sample_weights is None else (weight, input, per_sample_weights)
    return EmbeddingBagOp.apply(*inputs, bounds=bounds, mode=mode, padding_idx=padding_idx,
                                scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embeddings: shape (bags, embedding_dim).

    A 1-D ``input`` with ``offsets`` (bag b = input[offsets[b]:offsets[b+1]]) or a 2-D input
    (N, L): N bags of L indices each.  See the module docstring.
    """
    return _embedding_bag("embedding_bag", input, weight, offsets, max_norm, norm_type,
                          scale_grad_by_freq, mode, sparse, per_sample_weights,
                          include_last_offset, padding_idx)


# ---------------------------------------------------------------------------------- modules
def _check_size(layer, what, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{layer}: {what} must be a non-negative int, got {value!r}")
    return int(value)


def _make_weight(layer, num, dim, _weight, requires_grad, dtype):
    if _weight is None:
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        return Parameter(xp.empty((num, dim), d), requires_grad=requires_grad), True
    if not isinstance(_weight, Tensor):
        raise TypeError(f"{layer}: _weight must be a Tensor, got {type(_weight).__name__}")
    if tuple(_weight.shape) != (num, dim):
        raise ValueError(f"{layer}: Shape of weight does not match num_embeddings and "
                         f"embedding_dim: expected ({num}, {dim}), got {tuple(_weight.shape)}")
    return Parameter(_weight, requires_grad=requires_grad), False


def _check_pretrained(layer, embeddings):
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"{layer}.from_pretrained: embeddings must be a Tensor, got "
                        f"{type(embeddings).__name__}")
    if embeddings.ndim != 2:
        raise ValueError(f"{layer}.from_pretrained: Embeddings parameter is expected to be "
                         f"2-dimensional, got shape {tuple(embeddings.shape)}")
    return embeddings.shape


class Embedding(Module):
    """A lookup table: ``forward(input)`` = weight[input], shape (*input.shape, embedding_dim).

    weight (num_embeddings, embedding_dim) ~ N(0, 1), with the padding_idx row zeroed.
    ``_weight`` uses the given tensor as the weight (sharing its memory); ``_freeze`` makes it
    not require a gradient.  Parameters: num_embeddings · embedding_dim.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        as_device(device)
        layer = f"Embedding({num_embeddings}, {embedding_dim})"
        if sparse:
            raise NotImplementedError(f"{layer}: {_SPARSE}")
        self.num_embeddings = _check_size(layer, "num_embeddings", num_embeddings)
        self.embedding_dim = _check_size(layer, "embedding_dim", embedding_dim)
        self.padding_idx = _padding_idx(layer, padding_idx, self.num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.weight, fresh = _make_weight(layer, self.num_embeddings, self.embedding_dim, _weight,
                                          not _freeze, dtype)
        if fresh:
            self.reset_parameters()
        self.sparse = sparse

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0
            self.weight._version[0] += 1

    def forward(self, input):
        return _embedding(repr(self), input, self.weight, self.padding_idx, self.max_norm,
                          self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (shared, not copied; the padding row is
        kept as given); ``freeze=True`` means it gets no gradient."""
        rows, cols = _check_pretrained("Embedding", embeddings)
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings, without the per-index (*, D) intermediate.

    ``forward(input, offsets=None, per_sample_weights=None)``: a 1-D input with offsets, or a
    2-D input (N, L) of N bags of L indices; output (bags, embedding_dim).  weight ~ N(0, 1),
    the padding_idx row zeroed; padding entries are left out of their bag (and of a bag's
    count for 'mean').  Parameters: num_embeddings · embedding_dim.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        as_device(device)
        layer = f"EmbeddingBag({num_embeddings}, {embedding_dim})"
        if sparse:
            raise NotImplementedError(f"{layer}: {_SPARSE}")
        if mode not in _MODES:
            raise ValueError(f"{layer}: mode has to be one of sum, mean or max, got {mode!r}")
        self.num_embeddings = _check_size(layer, "num_embeddings", num_embeddings)
        self.embedding_dim = _check_size(layer, "embedding_dim", embedding_dim)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_idx(layer, padding_idx, self.num_embeddings)
        self.weight, fresh = _make_weight(layer, self.num_embeddings, self.embedding_dim, _weight,
                                          True, dtype)
        if fresh:
            self.reset_parameters()
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    reset_parameters = Embedding.reset_parameters
    _fill_padding_idx_with_zero = Embedding._fill_padding_idx_with_zero

    def forward(self, input, offsets=None, per_sample_weights=None):
        return _embedding_bag(repr(self), input, self.weight, offsets, self.max_norm,
                              self.norm_type, self.scale_grad_by_freq, self.mode, self.sparse,
                              per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is ``embeddings`` (shared, not copied); ``freeze=True``
        means it gets no gradient."""
        rows, cols = _check_pretrained("EmbeddingBag", embeddings)
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
