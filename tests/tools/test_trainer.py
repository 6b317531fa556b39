"""The training loop: learns, reports, and stops with a clear error on a NaN loss; train_steps
is exactly the step it documents, for layerwise and torch models."""
import itertools
import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader, TensorDataset
from layerwise.tools.trainer import (NonFiniteLossError, classification_loss, evaluate, fit,
                                     train_steps)


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


def _manual_steps(model, opt, batches, clip=None, sched=None):
    """The step train_steps promises, written out: the losses it sees."""
    losses = []
    for x, y in batches:
        loss = lw.nn.functional.cross_entropy(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        if clip:
            lw.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
    return losses


def _setup(seed=0):
    lw.manual_seed(seed)
    model = lw.nn.Sequential(lw.nn.Linear(2, 8), lw.nn.Tanh(), lw.nn.Linear(8, 3))
    opt = lw.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sched = lw.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def test_train_steps_is_the_written_out_step_with_clipping_and_a_per_step_scheduler():
    data = blobs(96)
    batches = list(DataLoader(data, batch_size=16))
    model, opt, sched = _setup()
    want = _manual_steps(model, opt, batches, clip=0.1, sched=sched)
    model2, opt2, sched2 = _setup()
    seen = []
    done = train_steps(model2, opt2, batches, classification_loss(), scheduler=sched2,
                       clip_grad_norm=0.1,
                       on_step=lambda step, value, batch, out: seen.append((step, value, out.shape)))
    assert done == 6 and [s[0] for s in seen] == [1, 2, 3, 4, 5, 6]
    assert [s[1] for s in seen] == want                            # bit for bit
    assert all(s[2] == (16, 3) for s in seen)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.5 * 0.5 ** 3
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_train_steps_stops_at_steps_without_drawing_another_batch():
    drawn = []

    def source():
        for i in itertools.count():
            drawn.append(i)
            yield blobs(8, seed=i).tensors
    model, opt, _ = _setup()
    assert train_steps(model, opt, source(), classification_loss(), steps=5, start_step=2) == 5
    assert drawn == [0, 1, 2]                                      # 3 steps, 3 batches
    assert train_steps(model, opt, source(), classification_loss(), steps=2, start_step=2) == 2


def test_train_steps_stops_before_a_nan_loss_changes_the_weights():
    data = blobs(32)
    data.tensors[0].array[3, 1] = np.nan
    model, opt, _ = _setup()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(NonFiniteLossError, match=r"training stopped at step 8: the loss is nan"):
        train_steps(model, opt, [data.tensors], classification_loss(), start_step=7)
    for a, b in zip(before, model.parameters()):
        np.testing.assert_array_equal(a, b.detach().numpy())


def test_train_steps_trains_a_torch_model_too():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 2), torch.randint(0, 3, (16,))
    losses = []
    train_steps(model, opt, [(x, y)] * 20, lambda m, b: (torch.nn.functional.cross_entropy(
        m(b[0]), b[1]), None), clip_grad_norm=1.0, lib=torch,
        on_step=lambda *a: losses.append(a[1]))
    assert len(losses) == 20 and losses[-1] < losses[0]


def test_fit_with_a_per_step_scheduler_and_max_steps_then_resumed():
    data = blobs(64)

    def run(**kw):
        model, opt, sched = _setup()
        steps = []
        hist = fit(model, DataLoader(data, batch_size=16), opt, 3, scheduler=sched, log=None,
                   show_progress=False, on_step=lambda s, v, e: steps.append((s, e, v)), **kw)
        return hist, steps, opt, sched
    hist, steps, opt, _ = run(scheduler_interval="step")
    assert [s[:2] for s in steps] == [(i, 1 + (i - 1) // 4) for i in range(1, 13)]
    assert opt.param_groups[0]["lr"] == 0.5 * 0.5 ** 6           # stepped 12 times
    hist, steps, opt, _ = run(max_steps=6)                        # ends mid-epoch 2
    assert hist["epoch"] == [1, 2] and [s[0] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert opt.param_groups[0]["lr"] == 0.5 * 0.5 ** 1            # per epoch: stepped twice
    hist, steps, _, _ = run(start_epoch=3, start_step=8)
    assert hist["epoch"] == [3] and [s[0] for s in steps] == [9, 10, 11, 12]
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        run(scheduler_interval="batch")
