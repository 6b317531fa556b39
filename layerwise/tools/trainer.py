"""A small, readable training loop for classifiers, with progress, checkpoints and safety checks.

``fit`` is what the demo, the examples and the CLI use; it is short enough to
read in one sitting and to copy into your own script when you need more.
"""
from __future__ import annotations

import math
import time

from .. import nn
from ..autograd import grad_mode
from .progress import Progress


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def check_finite(loss_value, step, epoch):
    if not math.isfinite(loss_value):
        raise NonFiniteLossError(
            f"training stopped at step {step} (epoch {epoch}): the loss is {loss_value}; the "
            "weights have diverged. Lower the learning rate, clip gradients "
            "(lw.nn.utils.clip_grad_norm_) or check the inputs for NaN/inf")


def evaluate(model, loader, loss_fn=None):
    """(mean loss, accuracy) of ``model`` over ``loader``, in eval mode and without a graph."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    was_training = model.training
    model.eval()
    total, correct, n = 0.0, 0, 0
    with grad_mode.no_grad():
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y, reduction="sum").item()
            correct += int((out.argmax(dim=1) == y).sum().item())
            n += len(y)
    model.train(was_training)
    return total / max(n, 1), correct / max(n, 1)


def fit(model, train_loader, optimizer, epochs, *, test_loader=None, scheduler=None,
        loss_fn=None, clip_grad_norm=None, log=print, show_progress=True, on_epoch_end=None):
    """Train a classifier; return the history (per-epoch train loss/accuracy, test loss/accuracy, time).

    ``scheduler.step()`` runs once per epoch (call per-step schedulers yourself in a custom
    loop). A NaN or infinite loss raises ``NonFiniteLossError`` naming the step.
    ``on_epoch_end(epoch, history)`` runs after each epoch (e.g. to save a checkpoint).
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    history = {"epoch": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [],
               "seconds": []}
    start, step = time.perf_counter(), 0
    model.train()
    for epoch in range(1, epochs + 1):
        with Progress(total=len(train_loader), desc=f"epoch {epoch}/{epochs}",
                      disable=None if show_progress else True) as bar:
            for x, y in train_loader:
                out = model(x)
                loss = loss_fn(out, y)
                value = loss.item()
                step += 1
                check_finite(value, step, epoch)
                optimizer.zero_grad()
                loss.backward()
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
                bar.update(len(y), loss=value, correct=int((out.argmax(dim=1) == y).sum().item()))
        if scheduler is not None:
            scheduler.step()
        history["epoch"].append(epoch)
        history["train_loss"].append(bar.loss)
        history["train_acc"].append(bar.accuracy)
        line = f"epoch {epoch:3d}/{epochs}  train loss {bar.loss:.4f}  train acc {bar.accuracy:.2%}"
        if test_loader is not None:
            test_loss, test_acc = evaluate(model, test_loader, loss_fn)
            history["test_loss"].append(test_loss)
            history["test_acc"].append(test_acc)
            line += f"  test loss {test_loss:.4f}  test acc {test_acc:.2%}"
        history["seconds"].append(time.perf_counter() - start)
        if log:
            log(line + f"  ({history['seconds'][-1]:.1f} s, {bar.samples_per_second:,.0f} samples/s)")
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history
