"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, _as_float


class SGD(Optimizer):
    r"""Stochastic gradient descent (``torch.optim.SGD``), optionally with momentum.

    For each parameter θ with gradient g, at step t (μ momentum, τ dampening,
    λ weight decay, γ lr)::

        g ← −g                        if maximize
        g ← g + λ·θ                   if λ ≠ 0
        if μ ≠ 0:
            b ← g                     at the first step (no dampening)
            b ← μ·b + (1 − τ)·g       afterwards
            g ← g + μ·b               if nesterov
            g ← b                     otherwise
        θ ← θ − γ·g

    The momentum buffer ``b`` is kept in ``state[p]['momentum_buffer']`` (only when
    μ ≠ 0, as torch).  Nesterov momentum needs μ > 0 and τ = 0.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate γ (default 1e-3, as torch 2.x).
        momentum: μ (default 0).
        dampening: τ (default 0).
        weight_decay: λ, L2 penalty added to the gradient (default 0).
        nesterov: use Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing it (default False).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_sgd(lr, momentum, dampening, weight_decay, nesterov)
        if differentiable or fused:
            raise NotImplementedError("SGD: differentiable=True and fused=True are not supported "
                                      "by layerwise (foreach is accepted and ignored)")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_sgd(group["lr"], group["momentum"], group["dampening"], group["weight_decay"],
                   group["nesterov"])

    def _group_options(self, group):
        return (_as_float(group["lr"], "lr"), float(group["momentum"]), float(group["dampening"]),
                float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]))

    def _update(self, p, grad, opts):
        lr, momentum, dampening, wd, nesterov, maximize = opts
        w = p.array
        s1, s2 = self._scratch(w, 2)
        g = grad
        if maximize:
            g = xp.negative(grad, out=s1)
        if wd != 0:
            xp.multiply(w, wd, out=s2)
            g = xp.add(g, s2, out=s1)            # g + λθ
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = Tensor._wrap(xp.array(g, dtype=w.dtype, copy=True))
                state["momentum_buffer"] = buf
            else:
                b = buf.array
                b *= momentum
                if dampening == 0:
                    b += g
                else:
                    b += xp.multiply(g, 1 - dampening, out=s2)
            if nesterov:
                xp.multiply(buf.array, momentum, out=s2)
                g = xp.add(g, s2, out=s2)        # g + μb
            else:
                g = buf.array
        out = g if (g is s1 or g is s2) else s1
        xp.multiply(g, -lr, out=out)
        w += out


def _check_sgd(lr, momentum, dampening, weight_decay, nesterov):
    if _as_float(lr, "lr") < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
