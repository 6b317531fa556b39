r"""Learning-rate schedules with ``torch.optim.lr_scheduler``'s API and numerics (torch 2.x).

A scheduler wraps an optimizer and rewrites ``group['lr']`` in each of its parameter
groups; call ``scheduler.step()`` once per epoch (or per batch, for the per-batch
schedules such as :class:`OneCycleLR`), **after** ``optimizer.step()``::

    opt = lw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for epoch in range(100):
        train_one_epoch(model, opt)      # calls opt.step()
        sched.step()

Semantics follow torch 2.x exactly:

* The constructor stores each group's starting lr as ``group['initial_lr']`` (kept if
  already there), reads them into ``base_lrs`` and performs an initial step, which sets
  ``last_epoch`` to 0 (the lr for epoch 0 is then in the groups).
* ``step()`` increments ``last_epoch`` and writes the new lrs; ``get_last_lr()`` returns
  them.  Most schedules are *chainable*: the new lr is computed from the group's current
  lr (a recursive form), so several schedulers can act on one optimizer.  The numbers are
  torch's to the last bit: e.g. :class:`CosineAnnealingLR` follows torch's recursive
  formula, which agrees with the closed-form cosine only up to rounding.
* ``step(epoch)`` (deprecated in torch, with the same warning) jumps to ``epoch`` using
  the closed form where the schedule has one.
* ``state_dict()`` holds every attribute but the optimizer (a :class:`LambdaLR` saves a
  lambda only if it is a callable object, as its ``__dict__``), so torch's and
  layerwise's scheduler state dicts have the same keys and load into each other.
* As torch, constructing a scheduler wraps ``optimizer.step`` so that calling
  ``scheduler.step()`` before any ``optimizer.step()`` warns.
"""
from __future__ import annotations

import math
import types
import warnings
from bisect import bisect_right
from collections import Counter

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau", "CosineAnnealingWarmRestarts", "CyclicLR",
           "OneCycleLR"]

_EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


# ---------------------------------------------------------------------- helpers
def _copy(value):
    """A group value that does not alias the group's own (Tensor lrs are cloned)."""
    return value.clone() if isinstance(value, Tensor) else value


def _group_values(optimizer, key):
    """``[group[key] for each group]``, Tensors cloned (raises KeyError if a group lacks key)."""
    return [_copy(group[key]) for group in optimizer.param_groups]


def _set_group_value(group, key, value):
    """``group[key] = value``, filling a Tensor value in place (as torch) instead of replacing it."""
    current = group[key]
    if isinstance(current, Tensor):
        current.fill_(float(value))
    else:
        group[key] = value


def _per_group(name, optimizer, value):
    """One value per parameter group: a list/tuple of the right length, or a scalar repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return [_copy(v) for v in value]
    return [_copy(value) for _ in range(n)]


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


class _TrackedStep:
    """Replaces ``optimizer.step`` on the instance (as torch's scheduler does) to record that it
    was called, so a scheduler stepped first can warn.  A plain picklable object (no closure,
    no weak reference), so the optimizer still pickles and deep-copies."""

    _wrapped_by_lr_sched = True

    def __init__(self, optimizer, func, bound):
        self.optimizer = optimizer
        self.func = func            # the class's step function, or any callable put there before
        self.bound = bound          # whether func takes the optimizer as its first argument

    def __call__(self, *args, **kwargs):
        opt = self.optimizer
        opt._opt_called = True
        if self.bound:
            return self.func(opt, *args, **kwargs)
        return self.func(*args, **kwargs)


def _track_optimizer_steps(optimizer):
    step = optimizer.step
    if getattr(step, "_wrapped_by_lr_sched", False):
        return
    func = getattr(step, "__func__", None)
    if func is not None and getattr(step, "__self__", None) is optimizer:
        optimizer.step = _TrackedStep(optimizer, func, True)
    else:
        optimizer.step = _TrackedStep(optimizer, step, False)


def _warn_get_lr_outside_step(scheduler):
    if not scheduler._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, please use "
                      "`get_last_lr()`.", UserWarning, stacklevel=3)


# ---------------------------------------------------------------------- base
class LRScheduler:
    """Base class of the learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    A subclass sets its own attributes, calls ``super().__init__(optimizer, last_epoch)``
    and implements :meth:`get_lr` (the lrs at ``self.last_epoch``, usually from the groups'
    current lrs); optionally ``_get_closed_form_lr`` for ``step(epoch)``.

    Args:
        optimizer: the wrapped :class:`~layerwise.optim.Optimizer`.
        last_epoch: the index of the last epoch; -1 (default) starts a new schedule.  A
            value ≥ 0 resumes one and needs ``'initial_lr'`` in every group.

    Attributes:
        base_lrs: the groups' ``initial_lr`` values.
        last_epoch: the epoch index of the current lrs (0 after construction).
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copy(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming scheduler with last_epoch >= 0 (load the "
                                   "optimizer's state dict first, or start with last_epoch=-1)")
        self.base_lrs = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self):
        """Reset the step count and take the constructor's step (in "initial" mode)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """The scheduler's state: every attribute except the optimizer (live values, as torch)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore attributes from :meth:`state_dict` (of this class, in layerwise or torch)."""
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The learning rates the last step set, one per parameter group."""
        return self._last_lr

    def get_lr(self):
        """The learning rates at ``last_epoch`` (called by :meth:`step`; use :meth:`get_last_lr`
        to read the current ones)."""
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one epoch (call it after ``optimizer.step()``).  ``epoch`` (deprecated) jumps
        to that epoch using the closed form where there is one."""
        if self._step_count == 1:
            if not getattr(self.optimizer.step, "_wrapped_by_lr_sched", False):
                warnings.warn("Seems like `optimizer.step()` has been overridden after learning "
                              "rate scheduler initialization. Please, make sure to call "
                              "`optimizer.step()` before `lr_scheduler.step()`.", UserWarning,
                              stacklevel=2)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                              "You should call them in the opposite order: `optimizer.step()` "
                              "before `lr_scheduler.step()`.  Failure to do this will result in "
                              "skipping the first value of the learning rate schedule.",
                              UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__}: got {len(values)} learning rates for "
                             f"{len(groups)} parameter groups")
        for group, lr in zip(groups, values):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")


_LRScheduler = LRScheduler


def _lambdas(optimizer, lr_lambda):
    _check_optimizer(optimizer)
    n = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != n:
            raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
        return list(lr_lambda)
    return [lr_lambda] * n


class _LambdaStateMixin:
    """state_dict without the lambdas; a callable *object* is saved as its ``__dict__``."""

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


# ---------------------------------------------------------------------- schedules
class LambdaLR(_LambdaStateMixin, LRScheduler):
    r"""``lr = initial_lr · λ(epoch)``, with λ a function (or one per group).

    Args:
        optimizer: the wrapped optimizer.
        lr_lambda: a function of the epoch index giving a multiplicative factor, or a list
            of them, one per parameter group.
        last_epoch: as :class:`LRScheduler`.

    ``state_dict()`` saves a lambda only if it is a callable object (not a function or a
    lambda), as its ``__dict__``.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaStateMixin, LRScheduler):
    r"""``lr ← lr · λ(epoch)`` at each step after the first (chainable).

    Args:
        optimizer: the wrapped optimizer.
        lr_lambda: a function of the epoch index giving a multiplicative factor, or a list
            of them, one per parameter group.
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    r"""Multiply the lr by γ every ``step_size`` epochs (chainable)::

        lr ← lr · γ    when epoch > 0 and epoch mod step_size = 0
        (closed form: initial_lr · γ^⌊epoch / step_size⌋)

    Args:
        optimizer: the wrapped optimizer.
        step_size: the period of the decay, in epochs.
        gamma: γ, the decay factor (default 0.1).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the lr by γ at each milestone epoch (by γⁿ at a milestone listed n times)::

        lr ← lr · γ^count(epoch in milestones)
        (closed form: initial_lr · γ^(number of milestones ≤ epoch))

    Args:
        optimizer: the wrapped optimizer.
        milestones: epoch indices (increasing).
        gamma: γ, the decay factor (default 0.1).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self.last_epoch not in self.milestones:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Multiply the lr by a constant ``factor`` for the first ``total_iters`` epochs::

        lr ← lr · factor         at epoch 0
        lr ← lr · (1 / factor)   at epoch total_iters

    Args:
        optimizer: the wrapped optimizer.
        factor: in [0, 1] (default 1/3).
        total_iters: epochs with the reduced lr (default 5).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the lr by a factor moving linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs (s start, e end, T total_iters, chainable)::

        lr ← lr · s                                          at epoch 0
        lr ← lr · (1 + (e − s) / (T·s + (epoch − 1)·(e − s)))   for 0 < epoch ≤ T
        (closed form: initial_lr · (s + (e − s)·min(T, epoch) / T))

    Args:
        optimizer: the wrapped optimizer.
        start_factor: s, in (0, 1] (default 1/3).
        end_factor: e, in [0, 1] (default 1).
        total_iters: T (default 5).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * delta)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        delta = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor
                           + delta * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by γ every epoch: ``lr ← lr · γ`` (closed form: initial_lr · γ^epoch).

    Args:
        optimizer: the wrapped optimizer.
        gamma: γ, the decay factor.
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Polynomial decay to 0 over ``total_iters`` epochs (T, power p, chainable)::

        lr ← lr · ((1 − epoch/T) / (1 − (epoch − 1)/T))^p     for 0 < epoch ≤ T
        (closed form: initial_lr · (1 − min(T, epoch)/T)^p)

    Args:
        optimizer: the wrapped optimizer.
        total_iters: T (default 5).
        power: p (default 1).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial lr to ``eta_min`` over ``T_max`` epochs, by torch's
    recursive formula (η lr, t epoch, T T_max, η_min eta_min, η₀ initial lr)::

        η ← η_min + (η − η_min) · (1 + cos(π·t/T)) / (1 + cos(π·(t − 1)/T))
        η ← η + (η₀ − η_min)·(1 − cos(π/T)) / 2        when (t − 1 − T) mod 2T = 0

    (the second line restarts the climb after the minimum at t = T + 1, 3T + 1, ...; the lr
    then keeps following a cosine of period 2T).  This tracks the closed form
    η_min + (η₀ − η_min)·(1 + cos(π·t/T)) / 2 — used by ``step(epoch)`` — up to rounding;
    the recursion reproduces torch's values exactly and composes with other schedulers.

    Args:
        optimizer: the wrapped optimizer.
        T_max: T, the number of epochs of the descent.
        eta_min: η_min (default 0).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and t > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        return [eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T)) / 2
                for base_lr in self.base_lrs]


def _check_scheduler_list(owner, optimizer, schedulers):
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not support `ReduceLROnPlateau` scheduler as it "
                             "requires additional kwargs to be specified when calling `step`, "
                             f"but got one at index {i} in the given schedulers sequence.")
        if optimizer is not scheduler.optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, "
                             f"but got scheduler {type(scheduler).__name__} at index {i} has "
                             f"{scheduler.optimizer}, which is different from "
                             f"{type(optimizer).__name__}.")


class _NestedStateMixin:
    """state_dict with each wrapped scheduler's state dict in ``'_schedulers'``."""

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, sub in zip(self._schedulers, saved):
            scheduler.load_state_dict(sub)


class SequentialLR(_NestedStateMixin, LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its
    epoch 0, closed form) until ``milestones[1]``, and so on.

    Args:
        optimizer: the wrapped optimizer (all schedulers must wrap it).
        schedulers: the schedulers, already constructed on ``optimizer``.
        milestones: the epochs at which to switch (one fewer than schedulers).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, but got no "
                             "scheduler.")
        _check_scheduler_list(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be "
                             "one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:             # back to the initial lrs
            _set_group_value(group, "lr", group["initial_lr"])
        self.recursive_undo()                             # undo the sub-schedulers' first step
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None):
        """Step back ``last_epoch`` of every (nested) wrapped scheduler by one."""
        target = self if sched is None else sched
        if hasattr(target, "_schedulers"):
            for s in target._schedulers:
                self.recursive_undo(s)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_NestedStateMixin, LRScheduler):
    """Step several chainable schedulers of one optimizer together, in order.

    Args:
        schedulers: the schedulers, already constructed.
        optimizer: their optimizer (default: the first scheduler's).
    """

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler to be "
                             "chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        _check_scheduler_list(type(self).__name__, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self):
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")


class ReduceLROnPlateau(LRScheduler):
    r"""Reduce the lr when a metric stops improving: ``step(metric)`` once per epoch.

    A metric *improves* on the best so far when (ϑ threshold)::

        mode 'min', 'rel':  metric < best·(1 − ϑ)      'abs':  metric < best − ϑ
        mode 'max', 'rel':  metric > best·(1 + ϑ)      'abs':  metric > best + ϑ

    Each epoch without improvement counts as bad (bad epochs during a cooldown are not
    counted); after more than ``patience`` bad epochs in a row every group's lr becomes
    ``max(lr·factor, min_lr)`` — unless that changes it by no more than ``eps`` — and a
    cooldown of ``cooldown`` epochs starts.

    Args:
        optimizer: the wrapped optimizer.
        mode: 'min' (default) or 'max'.
        factor: the reduction factor, < 1 (default 0.1).
        patience: bad epochs tolerated before reducing (default 10).
        threshold: ϑ (default 1e-4).
        threshold_mode: 'rel' (default) or 'abs'.
        cooldown: epochs to wait after a reduction before counting bad epochs again (default 0).
        min_lr: a lower bound on the lr, a scalar or one per group (default 0).
        eps: the smallest change of lr that is applied (default 1e-8).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics, epoch=None):
        """Record one epoch's metric (a number or a one-element Tensor) and maybe reduce the lr."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self, epoch):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The number of param groups in the `optimizer` ({len(groups)}) "
                                   "differs from when `ReduceLROnPlateau` was initialized "
                                   f"({len(self.min_lrs)}), usually due to a new param group "
                                   "being added to the optimizer. Please modify the `min_lrs` "
                                   "field to match the length of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                _set_group_value(group, "lr", new_lr)

    def _is_better(self, a, best):
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold,
                             threshold_mode=self.threshold_mode)


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR): T_cur counts epochs since the last restart,
    T_i is the current period (T_0, then ×T_mult after each restart)::

        lr = η_min + (initial_lr − η_min)·(1 + cos(π·T_cur/T_i)) / 2

    ``step()`` may also be given a fractional ``epoch`` (e.g. ``epoch + i / iters``) to
    anneal within an epoch.

    Args:
        optimizer: the wrapped optimizer.
        T_0: epochs until the first restart (a positive int).
        T_mult: the growth factor of the period after each restart (an int ≥ 1, default 1).
        eta_min: η_min (default 0).
        last_epoch: as :class:`LRScheduler`.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")


class _MomentumCycling:
    """What CyclicLR and OneCycleLR share: cycling each group's momentum (β₁ for Adam-like
    optimizers) opposite to the learning rate."""

    def _check_momentum(self, optimizer):
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` "
                             "option enabled")
        self.use_beta1 = "betas" in optimizer.defaults

    def _start_momentum(self, optimizer, base_momentums, max_momentums, last_epoch):
        """A new schedule (last_epoch == -1) starts every group at its max_momentum and records
        both bounds in the group."""
        if last_epoch != -1:
            return
        for top, low, group in zip(max_momentums, base_momentums, optimizer.param_groups):
            self._set_momentum(group, top)
            group["max_momentum"] = top
            group["base_momentum"] = low

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value


class CyclicLR(_MomentumCycling, LRScheduler):
    r"""Cyclical learning rates (Smith 2017, arXiv:1506.01186), stepped once per batch: the lr
    ramps linearly from ``base_lr`` up to a peak over ``step_size_up`` steps and back down over
    ``step_size_down``, again and again; with ``cycle_momentum`` the momentum (or β₁) moves
    the opposite way between ``max_momentum`` and ``base_momentum``.

    With t = last_epoch, S = step_size_up + step_size_down and r = step_size_up / S::

        cycle = ⌊1 + t/S⌋,   x = 1 + t/S − cycle              (where in the cycle, 0 ≤ x < 1)
        f = x/r while rising (x ≤ r),  (x − 1)/(r − 1) while falling     (0 → 1 → 0)
        lr       = base_lr      + (max_lr − base_lr)             · f · scale
        momentum = max_momentum − (max_momentum − base_momentum) · f · scale

    ``scale`` is ``scale_fn(cycle)`` or ``scale_fn(t)`` (``scale_mode`` 'cycle' or
    'iterations'); the modes give 'triangular': 1, 'triangular2': 1/2^(cycle−1) (the peak
    halves every cycle), 'exp_range': gamma^t.  Not chainable: the lr is computed from
    ``base_lr`` each step.  The constructor sets every group's lr to ``base_lr`` (and, with
    ``cycle_momentum``, its momentum to ``max_momentum``).

    Args:
        optimizer: the wrapped optimizer.
        base_lr, max_lr: the lower and upper lr, scalar or one per group.
        step_size_up: steps of the rising half (default 2000).
        step_size_down: steps of the falling half (default: step_size_up).
        mode: 'triangular' (default), 'triangular2' or 'exp_range'; ignored when ``scale_fn``
            is given.
        gamma: the base of 'exp_range' (default 1.0).
        scale_fn: a custom one-argument scale (overrides ``mode``), with ``scale_mode``.
        scale_mode: 'cycle' (default) or 'iterations': what ``scale_fn`` is given.
        cycle_momentum: cycle the momentum / β₁ (default True; needs an optimizer with a
            ``momentum`` or ``betas`` option).
        base_momentum, max_momentum: the momentum's range, scalar or per group (0.8, 0.9).
        last_epoch: the index of the last batch (default -1: start afresh).
    """

    _MODES = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _set_group_value(group, "lr", lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in self._MODES and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = self._MODES[mode] if scale_fn is None else scale_mode
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._check_momentum(optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            self._start_momentum(optimizer, self.base_momentums, self.max_momentums, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs          # base_lr, not the groups' initial_lr, when resuming

    def _scale(self, x):
        """The amplitude factor at x (the cycle number or the step, as scale_mode says)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            f = x / self.step_ratio
        else:
            f = (x - 1) / (self.step_ratio - 1)
        scale = self._scale(cycle if self.scale_mode == "cycle" else t)
        lrs = [low + (top - low) * f * scale for low, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, top in zip(self.optimizer.param_groups, self.base_momentums,
                                       self.max_momentums):
                self._set_momentum(group, top - (top - low) * f * scale)
        return lrs

    def state_dict(self):
        """As the base class, but a custom ``scale_fn`` is saved only as its ``__dict__`` (a
        callable object's state; None for a plain function), like torch."""
        state = super().state_dict()
        fn = state.get("_scale_fn_custom")
        state["_scale_fn_custom"] = (fn.__dict__.copy() if fn is not None
                                     and not isinstance(fn, types.FunctionType) else None)
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class OneCycleLR(_MomentumCycling, LRScheduler):
    r"""The 1cycle policy, stepped once per batch: the lr rises from ``max_lr / div_factor`` to
    ``max_lr``, then falls to ``initial_lr / final_div_factor``; with ``cycle_momentum``
    the momentum (or β₁ for Adam-like optimizers) moves the opposite way between
    ``max_momentum`` and ``base_momentum``.

    With N = total_steps and p = pct_start, the phases end at steps (inclusive)::

        two phases:   p·N − 1          initial_lr → max_lr     max_momentum → base_momentum
                      N − 1            max_lr → min_lr         base_momentum → max_momentum
        three_phase:  p·N − 1          initial_lr → max_lr     max_momentum → base_momentum
                      2·p·N − 2        max_lr → initial_lr     base_momentum → max_momentum
                      N − 1            initial_lr → min_lr     max_momentum (constant)

    Within a phase from step a to step b, with x = (step − a) / (b − a), a value goes from
    ``start`` to ``end`` as ``end + (start − end)/2 · (1 + cos(π·x))`` ('cos') or
    ``(end − start)·x + start`` ('linear').  The groups get ``initial_lr``, ``max_lr``,
    ``min_lr`` (and ``max_momentum``, ``base_momentum``) entries.  Stepping past
    ``total_steps`` raises ValueError.

    Args:
        optimizer: the wrapped optimizer.
        max_lr: the peak lr, a scalar or one per group.
        total_steps: N; or give ``epochs`` and ``steps_per_epoch`` (N = their product).
        epochs, steps_per_epoch: see ``total_steps``.
        pct_start: p, the fraction of the cycle spent raising the lr (a float, default 0.3).
        anneal_strategy: 'cos' (default) or 'linear'.
        cycle_momentum: cycle the momentum / β₁ inversely to the lr (default True; needs an
            optimizer with a ``momentum`` or ``betas`` option).
        base_momentum: the lowest momentum, scalar or per group (default 0.85).
        max_momentum: the highest momentum, scalar or per group (default 0.95).
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: use the three-phase schedule above (default False).
        last_epoch: the index of the last batch (default -1: start afresh).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError("Expected positive integer steps_per_epoch, but got "
                                 f"{steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        def phase(end_step, start_lr, end_lr, start_momentum, end_momentum):
            return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
                    "start_momentum": start_momentum, "end_momentum": end_momentum}

        N = self.total_steps
        if three_phase:
            self._schedule_phases = [
                phase(float(pct_start * N) - 1, "initial_lr", "max_lr", "max_momentum",
                      "base_momentum"),
                phase(float(2 * pct_start * N) - 2, "max_lr", "initial_lr", "base_momentum",
                      "max_momentum"),
                phase(N - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                phase(float(pct_start * N) - 1, "initial_lr", "max_lr", "max_momentum",
                      "base_momentum"),
                phase(N - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._check_momentum(optimizer)
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self._start_momentum(optimizer, base_momentums, max_momentums, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return self._annealing_cos(start, end, pct)
        if self._anneal_func_type == "linear":
            return self._annealing_linear(start, end, pct)
        raise ValueError(f"Unknown _anneal_func_type: {self._anneal_func_type}")

    @staticmethod
    def _annealing_cos(start, end, pct):
        """Cosine from ``start`` (pct 0) to ``end`` (pct 1)."""
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    @staticmethod
    def _annealing_linear(start, end, pct):
        """Straight line from ``start`` (pct 0) to ``end`` (pct 1)."""
        return (end - start) * pct + start

    def get_lr(self):
        _warn_get_lr_outside_step(self)
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times. The specified number of total "
                             f"steps is {self.total_steps}")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, ph in enumerate(self._schedule_phases):
                end_step = ph["end_step"]
                if step_num <= end_step or i == last:
                    pct = (step_num - start_step) / (end_step - start_step)
                    lr = self._anneal_func(group[ph["start_lr"]], group[ph["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal_func(group[ph["start_momentum"]],
                                                     group[ph["end_momentum"]], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                self._set_momentum(group, momentum)
        return lrs
