"""A seeded training run interrupted by a checkpoint resumes bit for bit."""
import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader, TensorDataset
from layerwise.io import load_training_checkpoint, save_training_checkpoint


def make_run(seed):
    """A model, optimizer, scheduler and shuffling loader, all from ``seed``."""
    lw.manual_seed(seed)
    rng = np.random.default_rng(0)                     # the data itself is fixed
    x = lw.tensor(rng.standard_normal((96, 10)).astype(np.float32))
    y = lw.tensor(rng.integers(0, 3, 96))
    model = lw.nn.Sequential(lw.nn.Linear(10, 16), lw.nn.Tanh(), lw.nn.Linear(16, 3))
    opt = lw.optim.AdamW(model.parameters(), lr=1e-2)
    sched = lw.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True,
                        generator=lw.Generator().manual_seed(seed))
    return model, opt, sched, loader


def train_steps(model, opt, sched, loader, n_steps, it=None):
    """Run ``n_steps`` optimisation steps (across epochs); return losses and the live iterator."""
    losses = []
    while len(losses) < n_steps:
        if it is None:
            it = iter(loader)
        try:
            xb, yb = next(it)
        except StopIteration:
            it = None
            continue
        noise = lw.randn(*xb.shape) * 0.01               # draws from the default generator
        loss = lw.nn.functional.cross_entropy(model(xb + noise), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses, it


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    reference, _ = train_steps(*make_run(7), 20)

    model, opt, sched, loader = make_run(7)
    first, _ = train_steps(model, opt, sched, loader, 9)      # stops mid-epoch (6 batches/epoch)
    path = tmp_path / "ckpt.safetensors"
    save_training_checkpoint(path, model=model, optimizer=opt, scheduler=sched, loader=loader,
                             step=9, epoch=1, extra={"note": "mid-epoch"})

    model2, opt2, sched2, loader2 = make_run(123)              # fresh objects, other seeds
    info = load_training_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2, loader=loader2)
    assert info == {"step": 9, "epoch": 1, "extra": {"note": "mid-epoch"}}
    rest, _ = train_steps(model2, opt2, sched2, loader2, 11)
    assert first + rest == reference                         # exact float equality


def test_not_a_training_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.safetensors"
    lw.save({"weight": lw.zeros(2)}, path)
    model, *_ = make_run(0)
    with pytest.raises(ValueError, match="not a layerwise training checkpoint"):
        load_training_checkpoint(path, model=model)
