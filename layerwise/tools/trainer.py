"""The training loop: ``train_steps`` runs the optimisation steps every model of layerwise trains
with (the CLI's image models, the character LSTM, the GPT, in layerwise or in torch); ``fit``
trains a classifier by epochs on it, with a progress bar and a test evaluation per epoch.

Both are short enough to read in one sitting and to copy into your own script when you need
more.  One step is

    loss, output = loss_fn(model, batch)      # forward
    (a NaN or infinite loss stops here, before the weights change)
    optimizer.zero_grad(); loss.backward()
    clip_grad_norm_(parameters, clip)         # when clip_grad_norm is given
    optimizer.step(); scheduler.step()        # when a scheduler is given: one step per step
    on_step(step, loss value, batch, output)  # logging, evaluation, checkpoints

Nothing else happens between steps, so a run interrupted after a checkpoint and resumed from
it (model, optimizer, scheduler and batch source restored) repeats the uninterrupted run bit
for bit.
"""
from __future__ import annotations

import math
import time

from .. import nn
from ..autograd import grad_mode
from .progress import Progress


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def check_finite(loss_value, step, epoch=None):
    """Raise ``NonFiniteLossError`` naming the step (and epoch) when the loss is NaN or ±inf."""
    if not math.isfinite(loss_value):
        where = f"step {step}" + (f" (epoch {epoch})" if epoch is not None else "")
        raise NonFiniteLossError(
            f"training stopped at {where}: the loss is {loss_value}; the "
            "weights have diverged. Lower the learning rate, clip gradients "
            "(lw.nn.utils.clip_grad_norm_) or check the inputs for NaN/inf")


def classification_loss(loss_fn=None):
    """A ``train_steps`` loss for (x, y) batches: ``(loss_fn(model(x), y), model(x))``;
    ``loss_fn`` defaults to cross-entropy."""
    loss_fn = loss_fn or nn.functional.cross_entropy

    def loss(model, batch):
        x, y = batch
        out = model(x)
        return loss_fn(out, y), out
    return loss


def train_steps(model, optimizer, batches, loss_fn, *, steps=None, start_step=0, scheduler=None,
                clip_grad_norm=None, on_step=None, epoch=None, lib=None):
    """One optimisation step per batch of ``batches`` until it ends or ``steps`` steps are done
    in all (counting the ``start_step`` done before); returns the number of steps done.

    ``loss_fn(model, batch)`` → (scalar loss, output); ``scheduler.step()`` runs after every
    ``optimizer.step()``; ``on_step(step, loss_value, batch, output)`` after it, with ``step``
    counted from 1.  A batch is taken only when a step will be made, so a random batch source
    is never drawn past the last step.  ``epoch`` only names the epoch in the NaN error.
    ``lib`` (layerwise by default, or torch) provides ``nn.utils.clip_grad_norm_``.
    """
    clip = (lib.nn if lib is not None else nn).utils.clip_grad_norm_
    params = list(model.parameters()) if clip_grad_norm else None
    step = start_step
    it = iter(batches)
    while steps is None or step < steps:
        try:
            batch = next(it)
        except StopIteration:
            break
        loss, output = loss_fn(model, batch)
        value = float(loss.item())
        check_finite(value, step + 1, epoch)
        optimizer.zero_grad()                       # to None: torch's default and ours
        loss.backward()
        if clip_grad_norm:
            clip(params, clip_grad_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        step += 1
        if on_step is not None:
            on_step(step, value, batch, output)
    return step


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


def _new_history():
    return {"epoch": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [],
            "seconds": []}


def fit(model, train_loader, optimizer, epochs, *, test_loader=None, scheduler=None,
        loss_fn=None, clip_grad_norm=None, log=print, show_progress=True, on_epoch_end=None,
        on_step=None, start_epoch=1, start_step=0, max_steps=None, scheduler_interval="epoch"):
    """Train a classifier; return the history (per-epoch train loss/accuracy, test loss/accuracy, time).

    ``scheduler.step()`` runs once per epoch, or after every optimizer step with
    ``scheduler_interval="step"`` (OneCycleLR, warm-up schedules). A NaN or infinite loss
    raises ``NonFiniteLossError`` naming the step.
    ``on_step(step, loss_value, epoch)`` runs after each step and ``on_epoch_end(epoch,
    history)`` after each epoch (e.g. to log metrics or save a checkpoint).  To continue a run,
    ``start_epoch`` and ``start_step`` say where it stands; ``max_steps`` ends it after that
    many steps in all (the epoch then ends there, evaluated as usual).
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got "
                         f"{scheduler_interval!r}")
    per_step = scheduler if scheduler_interval == "step" else None
    loss_fn = loss_fn or nn.functional.cross_entropy
    step_loss = classification_loss(loss_fn)
    history = _new_history()
    start, step = time.perf_counter(), start_step
    model.train()
    for epoch in range(start_epoch, epochs + 1):
        with Progress(total=len(train_loader), desc=f"epoch {epoch}/{epochs}",
                      disable=None if show_progress else True) as bar:
            def after_step(n, value, batch, out, bar=bar, epoch=epoch):
                y = batch[1]
                bar.update(len(y), loss=value, correct=int((out.argmax(dim=1) == y).sum().item()))
                if on_step is not None:
                    on_step(n, value, epoch)
            step = train_steps(model, optimizer, train_loader, step_loss, steps=max_steps,
                               start_step=step, scheduler=per_step,
                               clip_grad_norm=clip_grad_norm, on_step=after_step, epoch=epoch)
        if scheduler is not None and per_step is None:
            scheduler.step()
        _end_epoch(model, history, epoch, epochs, bar, test_loader, loss_fn, start, log)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if max_steps is not None and step >= max_steps:
            break
    return history


def _end_epoch(model, history, epoch, epochs, bar, test_loader, loss_fn, start, log):
    """Record the epoch in ``history`` (evaluating on ``test_loader``) and log its line."""
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
