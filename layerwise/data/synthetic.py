"""Synthetic tasks with a known answer, for probing what a model can learn.

``adding_problem`` is the classic long-range-memory test for recurrent networks (Hochreiter &
Schmidhuber 1997; in this form Le et al. 2015, Arjovsky et al. 2016).
"""
from __future__ import annotations

import numpy as np

from ..random import get_generator
from ..tensor import Tensor

__all__ = ["adding_problem"]


def adding_problem(n, T, generator=None, dtype=np.float32):
    """``n`` sequences of length ``T`` for the adding problem: ``(x, y)`` Tensors.

    ``x`` is (n, T, 2): channel 0 holds random values drawn uniformly from [0, 1), channel 1 is a
    marker that is 1 at exactly two positions — one in the first half of the sequence, one in
    the second — and 0 elsewhere.  ``y`` is (n, 1): the sum of the two marked values.  To get it
    right a model must carry the first marked value across up to T steps; predicting 1 (the mean)
    without looking gives a mean squared error of 1/6.  Use it batch-first:
    ``lw.nn.LSTM(2, hidden, batch_first=True)``.

    ``generator``: a ``layerwise.Generator`` (default: the global one, set by ``manual_seed``).
    """
    if not (isinstance(T, (int, np.integer)) and T >= 2):
        raise ValueError(f"adding_problem: T must be an int >= 2, got {T!r}")
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"adding_problem: n must be a positive int, got {n!r}")
    rng = get_generator(generator)
    values = rng.random((n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    marks = np.zeros((n, T))
    rows = np.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second])[:, None].astype(dtype)
    return Tensor._wrap(x), Tensor._wrap(y)
