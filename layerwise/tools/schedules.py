"""The warm-up + cosine learning-rate schedule of the character models, as an ``lr_scheduler``.

    sched = warmup_cosine(lw, optimizer, warmup_steps=100, total_steps=2000, min_lr=1e-4)
    for step in range(2000):
        ...; optimizer.step(); sched.step()

The learning rate at step s (counted from 0), for a group whose initial lr is ``peak``:

    s < W:           peak · (s + 1) / D                              (linear warm-up)
    W ≤ s < N:       min_lr + ½ (1 + cos(π (s − W) / max(1, N − W))) (peak − min_lr)
    s ≥ N:           min_lr

with W = ``warmup_steps``, N = ``total_steps`` and D = ``warmup_divisor`` (default W: the
warm-up reaches ``peak`` at its last step; the GPT recipe divides by W + 1, so it reaches
``peak`` only at step W, the first cosine step).

The class derives from ``lib.optim.lr_scheduler.LRScheduler`` (lib = layerwise or torch), so it
steps, saves and loads its state like every scheduler, and a torch run of the same recipe gets
the very same learning rates.  It evaluates the formula in closed form instead of as
``LambdaLR``'s ``peak · λ(s)``: that product rounds differently from the formula above (by one
unit in the last place at 34 of the GPT recipe's 2,000 steps), and the documented results were
produced with the formula.
"""
from __future__ import annotations

import functools
import math

__all__ = ["warmup_cosine"]


def _lr(peak, step, warmup_steps, total_steps, min_lr, warmup_divisor):
    """The schedule's learning rate at ``step`` for a group whose initial lr is ``peak``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_divisor
    if step >= total_steps:
        return min_lr
    ratio = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - min_lr)


@functools.lru_cache(maxsize=None)
def _warmup_cosine_class(base):
    """The schedule as a subclass of ``base`` (the LRScheduler of layerwise or of torch)."""

    class WarmupCosineLR(base):
        """Linear warm-up to each group's initial lr, then cosine decay to ``min_lr``."""

        def __init__(self, optimizer, warmup_steps, total_steps, min_lr, warmup_divisor=None,
                     last_epoch=-1):
            self.warmup_steps = int(warmup_steps)
            self.total_steps = int(total_steps)
            self.min_lr = float(min_lr)
            self.warmup_divisor = self.warmup_steps if warmup_divisor is None else warmup_divisor
            super().__init__(optimizer, last_epoch)

        def lrs_at(self, step):
            """The groups' learning rates at ``step`` (the closed form; nothing changes)."""
            return [_lr(peak, step, self.warmup_steps, self.total_steps, self.min_lr,
                        self.warmup_divisor) for peak in self.base_lrs]

        def get_lr(self):
            return self.lrs_at(self.last_epoch)

        _get_closed_form_lr = get_lr

    return WarmupCosineLR


def warmup_cosine(lib, optimizer, *, warmup_steps, total_steps, min_lr, warmup_divisor=None):
    """A ``WarmupCosineLR`` scheduler on ``optimizer`` (lib = layerwise or torch): linear
    warm-up over ``warmup_steps`` to each group's initial lr, divided by ``warmup_divisor``
    (default ``warmup_steps``), then cosine decay to ``min_lr`` at ``total_steps``.  Step it
    once per optimisation step, after ``optimizer.step()``."""
    for name, value in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"warmup_cosine: {name} must be an int >= 0, got {value!r}")
    if warmup_steps and (warmup_divisor if warmup_divisor is not None else warmup_steps) <= 0:
        raise ValueError(f"warmup_cosine: warmup_divisor must be > 0, got {warmup_divisor!r}")
    cls = _warmup_cosine_class(lib.optim.lr_scheduler.LRScheduler)
    return cls(optimizer, warmup_steps, total_steps, min_lr, warmup_divisor)
