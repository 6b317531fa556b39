"""The training loop: learns, reports, and stops with a clear error on a NaN loss."""
import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader, TensorDataset
from layerwise.tools.trainer import NonFiniteLossError, evaluate, fit


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return TensorDataset(lw.tensor(x), lw.tensor(y))


def test_fit_learns_and_returns_history():
    lw.manual_seed(0)
    data = blobs()
    loader = DataLoader(data, batch_size=32, shuffle=True, generator=lw.Generator().manual_seed(0))
    model = lw.nn.Sequential(lw.nn.Linear(2, 16), lw.nn.ReLU(), lw.nn.Linear(16, 3))
    lines = []
    hist = fit(model, loader, lw.optim.Adam(model.parameters(), lr=0.05), 5,
               test_loader=DataLoader(blobs(seed=1), batch_size=100), log=lines.append,
               show_progress=False)
    assert hist["epoch"] == [1, 2, 3, 4, 5] and len(lines) == 5
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["test_acc"][-1] > 0.95
    loss, acc = evaluate(model, DataLoader(blobs(seed=1), batch_size=100))
    assert math.isclose(acc, hist["test_acc"][-1]) and model.training


def test_nan_loss_stops_training_with_the_step():
    data = blobs(64)
    data.tensors[0].array[5, 0] = np.nan
    model = lw.nn.Linear(2, 3)
    with pytest.raises(NonFiniteLossError, match=r"step 1 \(epoch 1\): the loss is nan"):
        fit(model, DataLoader(data, batch_size=64), lw.optim.SGD(model.parameters()), 1, log=None,
            show_progress=False)
