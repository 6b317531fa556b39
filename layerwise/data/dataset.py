"""Datasets: the map-style ``Dataset`` protocol and its building blocks (torch.utils.data's API).

A map-style dataset answers ``len(ds)`` and ``ds[i]``.  An ``IterableDataset``
only answers ``iter(ds)``.  ``TensorDataset``, ``Subset`` and ``ConcatDataset``
combine datasets; ``random_split`` splits one reproducibly.

Fast batches.  A dataset may define ``_lw_batch(indices)`` returning exactly what
``default_collate([ds[i] for i in indices])`` would return, computed without a
Python loop over items.  ``DataLoader`` uses it when the collate function is
``default_collate``; ``TensorDataset``, ``Subset`` (when its dataset has it) and
the MNIST datasets (without transforms) provide it.
"""
from __future__ import annotations

import bisect
import math
import warnings

import numpy as np

from ..random import get_generator
from ..tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` and usually ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__`` (no indexing, no sampler)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        raise TypeError("IterableDataset does not support concatenation with +; "
                        "use itertools.chain")


def _first_dim(t) -> int:
    shape = t.shape
    if len(shape) == 0:
        raise ValueError("TensorDataset: every tensor needs a first (sample) dimension, got a 0-d one")
    return shape[0]


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; all tensors share their first dimension.

    Accepts layerwise Tensors (as torch) and NumPy arrays (wrapped without a copy).
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        wrapped = []
        for t in tensors:
            if isinstance(t, np.ndarray):
                t = Tensor._wrap(t)
            elif not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors or NumPy arrays, got "
                                f"{type(t).__name__}")
            wrapped.append(t)
        n = _first_dim(wrapped[0])
        sizes = [_first_dim(t) for t in wrapped]
        if any(s != n for s in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")
        self.tensors = tuple(wrapped)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _lw_batch(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        if any(t.requires_grad for t in self.tensors):
            return [t[Tensor._wrap(idx)] for t in self.tensors]     # keep the graph, as stacking would
        return [Tensor._wrap(t.array[idx]) for t in self.tensors]


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)

    @property
    def _lw_batch(self):
        # Whole-batch access exists iff the wrapped dataset has it (AttributeError otherwise).
        inner = self.dataset._lw_batch
        return lambda indices: inner([self.indices[i] for i in indices])


class ConcatDataset(Dataset):
    """The items of several map-style datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def _split_lengths(n: int, lengths) -> list[int]:
    """Turn ``lengths`` (counts, or fractions summing to 1) into counts summing to ``n``.

    Fractions: each split gets ``floor(n * fraction)`` and the leftover items go one at a
    time to the splits in order, round robin (torch's rule, so the sizes agree with torch).
    """
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.", stacklevel=3)
        lengths = counts
    if any(not isinstance(v, (int, np.integer)) or v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                         f"to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! "
                         f"({sum(lengths)} != {n})")
    return [int(v) for v in lengths]


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)`` or fractions summing to 1.  The
    permutation comes from ``generator`` (default: the global generator behind
    ``lw.manual_seed``), so the same seed gives the same split.
    """
    counts = _split_lengths(len(dataset), lengths)
    order = get_generator(generator).permutation(sum(counts)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, order[start:start + c]))
        start += c
    return out
