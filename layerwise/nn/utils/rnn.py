"""Variable-length sequences, as torch.nn.utils.rnn: PackedSequence and the pad/pack functions.

A ``PackedSequence`` stores a batch of sequences of different lengths time step by time step,
longest sequences first: ``data`` holds the rows of step 0 (one per sequence), then the rows of
step 1 (one per sequence still running), ...; ``batch_sizes[t]`` is the number of rows of step t
(non-increasing).  ``sorted_indices[k]`` is the caller's batch index of the k-th longest sequence
(``None`` when the batch came sorted) and ``unsorted_indices`` its inverse.  A recurrent layer
given a PackedSequence computes only those rows and returns a PackedSequence.

Packing and padding are differentiable: the gradient of the packed data flows back to the
padded input (zero at padded positions) and the other way round.
"""
from __future__ import annotations

import collections

import numpy as np

from ... import dtypes as _dt
from ..._tensor_ops import cat
from ...backend import asarray, get_array_module
from ...ops.recurrent import GatherRows, ScatterRows
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _int_array(t):
    if t is None:
        return None
    return np.asarray(t.array if isinstance(t, Tensor) else t).astype(np.int64, copy=False)


def _index_tensor(a):
    return None if a is None else Tensor._wrap(np.ascontiguousarray(a, dtype=np.int64))


def invert_permutation(permutation):
    """The inverse of a permutation (a 1-D int64 Tensor), or None for None."""
    if permutation is None:
        return None
    p = _int_array(permutation)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return Tensor._wrap(out)


_Fields = collections.namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                                     "unsorted_indices"])


class PackedSequence(_Fields):
    """The data and batch sizes of a packed batch of sequences (a namedtuple, as torch's).

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    ``PackedSequence(data, batch_sizes, sorted_indices)`` fills in ``unsorted_indices``.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """A PackedSequence with ``data.to(*args, **kwargs)`` (indices unchanged)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self):
        return self

    def double(self):
        return self.to(dtype=_dt.float64)

    def float(self):
        return self.to(dtype=_dt.float32)

    def half(self):
        return self.to(dtype=_dt.float16)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _lengths_array(lengths, name):
    if isinstance(lengths, Tensor):
        if lengths.array.dtype.kind not in "iu":
            raise TypeError(f"{name}: lengths must be integers, got a {lengths.dtype} tensor")
        arr = lengths.array
    else:
        arr = np.asarray(lengths)
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"{name}: lengths must be integers, got {list(arr)}")
    arr = arr.astype(np.int64).reshape(-1)
    return arr


def _rows(lengths_sorted, order, n_steps, batch, batch_first):
    """Flat row numbers in a padded (T·B) or (B·T) array of each packed row, in packed order.

    ``order[k]``: the padded batch position of the k-th longest sequence."""
    t, k = np.nonzero(lengths_sorted[None, :] > np.arange(n_steps)[:, None])   # time-major
    b = order[k]
    return b * n_steps + t if batch_first else t * batch + b


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) — or (B, T, *) with ``batch_first`` — of sequences of the
    given ``lengths`` (a list or a CPU int64 tensor) into a :class:`PackedSequence`.

    With ``enforce_sorted=True`` the lengths must be non-increasing; otherwise the batch is
    sorted here and ``sorted_indices`` remembers the order.  Positions past a sequence's length
    are ignored (their gradient is zero).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected an input of at least 2 dims "
                         f"({'B, T' if batch_first else 'T, B'}, *), got shape {tuple(input.shape)}")
    lengths = _lengths_array(lengths, "pack_padded_sequence")
    n_steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lengths.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={batch})")
    if batch == 0:
        raise RuntimeError("pack_padded_sequence: cannot pack an empty batch (batch_size=0)")
    if lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           f"in 'lengths' that is <= 0 (lengths={lengths.tolist()})")
    if lengths.max() > n_steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length ({int(lengths.max())}) is longer than the padded "
            f"sequence ({n_steps} steps in dim {1 if batch_first else 0} of the input of shape "
            f"{tuple(input.shape)}); check the lengths, and batch_first={batch_first}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                "sidestep this requirement if you do not need ONNX exportability.")
        order = np.arange(batch, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable").astype(np.int64)
        sorted_indices = order
    lengths_sorted = lengths[order]
    max_len = int(lengths_sorted[0])
    batch_sizes = (lengths_sorted[None, :] > np.arange(max_len)[:, None]).sum(axis=1).astype(np.int64)
    rows = _rows(lengths_sorted, order, n_steps, batch, batch_first)
    data = GatherRows.apply(input, index=asarray(rows, xp=get_array_module(input.array)), lead=2)
    return PackedSequence(data, Tensor._wrap(batch_sizes), _index_tensor(sorted_indices))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Unpack a :class:`PackedSequence` into ``(padded, lengths)``, the inverse of
    :func:`pack_padded_sequence`: padded is (T, B, *) — (B, T, *) with ``batch_first`` — with T
    the longest length (or ``total_length``), in the caller's batch order; lengths is int64."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    bs = _int_array(sequence.batch_sizes)
    n_steps = int(bs.size)
    if total_length is not None:
        if total_length < n_steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {n_steps}")
        n_steps = int(total_length)
    batch = int(bs[0])
    lengths_sorted = (bs[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)
    order = _int_array(sequence.sorted_indices)
    if order is None:
        unsorted = _int_array(sequence.unsorted_indices)
        order = np.arange(batch, dtype=np.int64) if unsorted is None else \
            _int_array(invert_permutation(unsorted))
    rows = _rows(lengths_sorted, order, n_steps, batch, batch_first)
    data = sequence.data
    flat = ScatterRows.apply(data, index=asarray(rows, xp=get_array_module(data.array)),
                             n_rows=n_steps * batch, fill=padding_value)
    lead = (batch, n_steps) if batch_first else (n_steps, batch)
    padded = flat.reshape(*lead, *data.shape[1:])
    lengths = np.empty(batch, np.int64)
    lengths[order] = lengths_sorted
    return padded, Tensor._wrap(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into one padded (T, B, *) tensor — (B, T, *) with ``batch_first``
    — with T the longest length, filling with ``padding_value`` on the ``padding_side``."""
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    try:
        sequences = list(sequences)
    except TypeError:
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}") from None
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected a list of Tensors, item {i} is {type(s).__name__}")
        if s.ndim == 0:
            raise RuntimeError(f"pad_sequence: sequence {i} is a 0-d tensor; sequences are (L, *)")
        if s.shape[1:] != sequences[0].shape[1:]:
            raise RuntimeError(f"pad_sequence: every sequence must have the same trailing dims: "
                               f"sequence 0 is {tuple(sequences[0].shape)}, sequence {i} is "
                               f"{tuple(s.shape)}")
        if s.dtype != sequences[0].dtype:
            raise RuntimeError(f"pad_sequence: sequence {i} has dtype {s.dtype}, sequence 0 has "
                               f"{sequences[0].dtype}")
    lens = np.array([s.shape[0] for s in sequences], np.int64)
    batch, n_steps = len(sequences), int(lens.max())
    b = np.repeat(np.arange(batch), lens)
    t = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)     # position within its sequence
    if padding_side == "left":
        t = t + np.repeat(n_steps - lens, lens)
    rows = b * n_steps + t if batch_first else t * batch + b
    data = cat(sequences, 0) if len(sequences) > 1 else sequences[0]
    flat = ScatterRows.apply(data, index=asarray(rows, xp=get_array_module(data.array)),
                             n_rows=n_steps * batch, fill=padding_value)
    lead = (batch, n_steps) if batch_first else (n_steps, batch)
    return flat.reshape(*lead, *sequences[0].shape[1:])


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of unpadded sequences (L_i, *) of a padded batch (the inverse of pad_sequence)."""
    lens = _lengths_array(lengths, "unpad_sequence")
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in the caller's order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
