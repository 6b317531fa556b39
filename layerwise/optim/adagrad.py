"""Adagrad (torch.optim.Adagrad), with learning-rate decay, weight decay and maximize."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, _as_float, _check_nonnegative, _scalar_dtype


class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad``): per-coordinate steps scaled by the accumulated
    squared gradients.

    For each parameter θ with gradient g, at step t = 1, 2, ... (γ lr, η lr decay,
    λ weight decay, ε eps, s₀ initial accumulator value)::

        g ← −g                              if maximize
        g ← g + λ·θ                         if λ ≠ 0
        γₜ ← γ / (1 + (t − 1)·η)
        s ← s + g·g                         (s starts at s₀)
        θ ← θ − γₜ·g / (√s + ε)

    State per parameter: ``step`` (a 0-d float Tensor, as torch) and ``sum`` (s).  As in
    torch, the state of every parameter given to the constructor is created right away
    (``step`` 0, ``sum`` filled with s₀), so it is in ``state_dict()`` before the first
    step; parameters added later with ``add_param_group`` get theirs at their first step.
    Also as in torch, s₀ is the constructor's ``initial_accumulator_value`` for every
    group: a group's own ``initial_accumulator_value`` entry is kept but not used.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate γ (default 1e-2).
        lr_decay: η (default 0).
        weight_decay: λ, L2 penalty added to the gradient (default 0).
        initial_accumulator_value: s₀ (default 0).
        eps: ε, added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing it (default False).

    ``differentiable`` and ``fused`` are not supported; ``foreach`` is accepted and ignored.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps)
        if differentiable or fused:
            raise NotImplementedError("Adagrad: differentiable=True and fused=True are not "
                                      "supported by layerwise (foreach is accepted and ignored)")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p, initial_accumulator_value):
        state = self.state[p]
        state["step"] = Tensor._wrap(xp.zeros((), _scalar_dtype()))
        state["sum"] = Tensor._wrap(xp.full_like(p.array, initial_accumulator_value))

    def _check_group(self, group):
        _check_adagrad(group["lr"], group["lr_decay"], group["weight_decay"],
                       group["initial_accumulator_value"], group["eps"])

    def _group_options(self, group):
        return (_as_float(group["lr"], "lr"), float(group["lr_decay"]),
                float(group["weight_decay"]), float(group["eps"]), bool(group["maximize"]))

    def _update(self, p, grad, opts):
        lr, lr_decay, wd, eps, maximize = opts
        w = p.array
        state = self.state[p]
        if len(state) == 0:
            self._init_state(p, self.defaults["initial_accumulator_value"])
        step_t = state["step"]
        s1, s2 = self._scratch(w, 2)

        step_t.array += 1
        step = float(step_t.array)

        g = grad
        if maximize:
            g = xp.negative(grad, out=s1)
        if wd != 0:
            xp.multiply(w, wd, out=s2)
            g = xp.add(g, s2, out=s1)                   # g + λθ

        clr = lr / (1 + (step - 1) * lr_decay)

        s = state["sum"].array                           # s.addcmul_(g, g, value=1)
        xp.multiply(g, g, out=s2)
        s += s2
        denom = xp.sqrt(s, out=s2)                      # √s + ε
        denom += eps
        upd = xp.multiply(g, -clr, out=s1)              # θ.addcdiv_(g, √s + ε, value=−γₜ)
        upd /= denom
        w += upd


def _check_adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps):
    _check_nonnegative(lr, lr_decay=lr_decay, weight_decay=weight_decay,
                       initial_accumulator_value=initial_accumulator_value, eps=eps)
