"""Samplers: the order in which a DataLoader visits a map-style dataset (torch.utils.data's API).

Every random sampler here draws one 63-bit *epoch seed* from its generator (the one
passed as ``generator=``, else the global generator behind ``lw.manual_seed``) at the
start of each pass, and derives the whole pass from that seed.  That makes an epoch
cheap to describe exactly: ``DataLoader.state_dict()`` stores the seed, not the
permutation, and rebuilds the same order on resume.

The resumable-epoch protocol (layerwise's own, used by ``DataLoader``):

* ``_lw_new_epoch()`` draws what the next pass needs and returns a small JSON-friendly
  record (``{}`` for deterministic samplers, ``{"seed": s}`` for random ones);
* ``_lw_epoch_iter(record)`` iterates the pass that record describes;
* ``_lw_generator()`` is the explicit generator whose state a checkpoint must carry.

A sampler written by a user (only ``__iter__``) still works everywhere; DataLoader
then remembers the epoch's order as a list instead of a seed.
"""
from __future__ import annotations

import numpy as np

from ..random import get_generator
from ..tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

_SEED_HIGH = 2 ** 63


def _epoch_seed(generator) -> int:
    return int(get_generator(generator).integers(0, _SEED_HIGH))


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source=None):
        pass                         # torch accepts and ignores data_source too

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    # The resumable-epoch protocol; a subclass that overrides __iter__ opts out of it.
    def _lw_resumable(self) -> bool:
        cls = type(self)
        return cls.__iter__ is getattr(cls, "_lw_base_iter", None)

    def _lw_generator(self):
        return None


def _protocol_iter(self):
    return self._lw_epoch_iter(self._lw_new_epoch())


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _lw_new_epoch(self):
        return {}

    def _lw_epoch_iter(self, record):
        return iter(range(len(self.data_source)))

    __iter__ = _lw_base_iter = _protocol_iter

    def __len__(self):
        return len(self.data_source)


class _SeededSampler(Sampler):
    """A sampler whose every pass is drawn from one seed taken from ``self.generator``."""

    def _lw_generator(self):
        return self.generator

    def _lw_new_epoch(self):
        return {"seed": _epoch_seed(self.generator)}


class RandomSampler(_SeededSampler):
    """A random order of the dataset's indices (a fresh permutation each pass).

    ``replacement=True`` draws ``num_samples`` indices independently; without
    replacement, ``num_samples`` larger than the dataset chains whole permutations.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) \
                or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _lw_epoch_iter(self, record):
        n, k = len(self.data_source), self.num_samples
        rng = _rng(record["seed"])
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[:k % n])
        return iter(np.concatenate(parts).tolist() if parts else [])

    __iter__ = _lw_base_iter = _protocol_iter

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_SeededSampler):
    """The given indices in a random order (a fresh permutation each pass)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _lw_epoch_iter(self, record):
        order = _rng(record["seed"]).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    __iter__ = _lw_base_iter = _protocol_iter

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_SeededSampler):
    """``num_samples`` indices in [0, len(weights)) drawn with probability ∝ weights."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights.array if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError("WeightedRandomSampler: without replacement, num_samples can't exceed "
                             "the number of non-zero weights")
        self.weights = Tensor._wrap(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _lw_epoch_iter(self, record):
        w = self.weights.array
        picks = _rng(record["seed"]).choice(len(w), size=self.num_samples,
                                            replace=self.replacement, p=w / w.sum())
        return iter(picks.tolist())

    __iter__ = _lw_base_iter = _protocol_iter

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last may be short,
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _lw_resumable(self) -> bool:
        inner = getattr(self.sampler, "_lw_resumable", None)
        return super()._lw_resumable() and inner is not None and inner()

    def _lw_generator(self):
        return self.sampler._lw_generator()

    def _lw_new_epoch(self):
        return self.sampler._lw_new_epoch()

    def _lw_epoch_iter(self, record):
        return self._group(self.sampler._lw_epoch_iter(record))

    def _group(self, indices):
        batch = []
        for i in indices:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self):
        if self._lw_resumable():
            return self._lw_epoch_iter(self._lw_new_epoch())
        return self._group(iter(self.sampler))

    _lw_base_iter = __iter__

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
