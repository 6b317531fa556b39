"""Training checkpoints from which a seeded run resumes exactly.

A training checkpoint is one ``lw.save`` file holding everything that decides
what happens next:

* ``model``: the model's state_dict (parameters and buffers, e.g. BatchNorm's running stats);
* ``optimizer``: its state_dict (moment estimates, step counts, param-group options);
* ``scheduler``: the learning-rate scheduler's state_dict, if there is one;
* ``loader``: the DataLoader's position (the epoch's order, the batches already
  yielded and its shuffling generator's state), so training continues mid-epoch;
* ``rng``: the default generator's state (dropout masks, random augmentation);
* ``step``, ``epoch`` and any ``extra`` values of your own (best accuracy, metrics).

Resuming restores all of them into freshly built objects; the loss after resume
then equals, bit for bit, the loss the uninterrupted run would have had.  The
write is atomic (``lw.save``): an interrupted save leaves the previous checkpoint intact.
"""
from __future__ import annotations

from .. import random as _random
from .checkpoint import load, save

FORMAT = "layerwise.training_checkpoint/1"


def save_training_checkpoint(path, *, model, optimizer, step, epoch, scheduler=None, loader=None,
                             extra=None):
    """Write a training checkpoint to ``path`` atomically."""
    save({
        "format": FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "loader": loader.state_dict() if loader is not None else None,
        "rng": _random.get_rng_state(),
        "step": int(step),
        "epoch": int(epoch),
        "extra": extra,
    }, path)


def load_training_checkpoint(path, *, model, optimizer=None, scheduler=None, loader=None):
    """Restore a checkpoint into the given objects; return ``{'step', 'epoch', 'extra'}``.

    Objects passed as None are not restored (e.g. load only the model to evaluate).
    """
    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a layerwise training checkpoint (expected format {FORMAT!r}); "
                         "use lw.load for plain files")
    model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None:
        if ckpt["scheduler"] is None:
            raise ValueError(f"{path}: the checkpoint has no scheduler state")
        scheduler.load_state_dict(ckpt["scheduler"])
    if loader is not None:
        if ckpt["loader"] is None:
            raise ValueError(f"{path}: the checkpoint has no data loader position")
        loader.load_state_dict(ckpt["loader"])
    _random.set_rng_state(ckpt["rng"])
    return {"step": ckpt["step"], "epoch": ckpt["epoch"], "extra": ckpt["extra"]}
