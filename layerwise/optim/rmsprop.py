"""RMSprop (torch.optim.RMSprop), with momentum, the centered variant, weight decay and maximize."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, _as_float, _check_nonnegative, _scalar_dtype


class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``): divide the gradient by a running RMS of its history.

    For each parameter θ with gradient g, at step t = 1, 2, ... (γ lr, α smoothing
    constant, ε eps, λ weight decay, μ momentum)::

        g ← −g                              if maximize
        g ← g + λ·θ                         if λ ≠ 0
        v ← α·v + (1 − α)·g·g
        if centered:
            ḡ ← ḡ + (1 − α)·(g − ḡ)         (torch's lerp)
            d ← √(v − ḡ·ḡ) + ε
        else:
            d ← √v + ε
        if μ > 0:
            b ← μ·b + g / d
            θ ← θ − γ·b
        else:
            θ ← θ − γ·g / d

    v starts at 0, as do ḡ and b.  State per parameter: ``step`` (a 0-d float Tensor,
    as torch), ``square_avg`` (v), ``momentum_buffer`` (b, only if μ > 0 at the first
    step) and ``grad_avg`` (ḡ, only if centered at the first step).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate γ (default 1e-2).
        alpha: smoothing constant α (default 0.99).
        eps: ε, added to the denominator (default 1e-8).
        weight_decay: λ, L2 penalty added to the gradient (default 0).
        momentum: μ (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its
            second moment (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    ``capturable`` and ``differentiable`` are not supported; ``foreach`` is accepted
    and ignored.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_rmsprop(lr, alpha, eps, weight_decay, momentum)
        if capturable or differentiable:
            raise NotImplementedError("RMSprop: capturable=True and differentiable=True are not "
                                      "supported by layerwise (foreach is accepted and ignored)")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_rmsprop(group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                       group["momentum"])

    def _group_options(self, group):
        return (_as_float(group["lr"], "lr"), float(group["alpha"]), float(group["eps"]),
                float(group["weight_decay"]), float(group["momentum"]), bool(group["centered"]),
                bool(group["maximize"]))

    def _update(self, p, grad, opts):
        lr, alpha, eps, wd, momentum, centered, maximize = opts
        w = p.array
        state = self.state[p]
        if len(state) == 0:
            state["step"] = Tensor._wrap(xp.zeros((), _scalar_dtype()))
            state["square_avg"] = Tensor._wrap(xp.zeros_like(w))
            if momentum > 0:
                state["momentum_buffer"] = Tensor._wrap(xp.zeros_like(w))
            if centered:
                state["grad_avg"] = Tensor._wrap(xp.zeros_like(w))
        for key, used in (("momentum_buffer", momentum > 0), ("grad_avg", centered)):
            if used and key not in state:
                raise RuntimeError(f"RMSprop: the state of a parameter has no {key!r}: it was "
                                   "created at a first step without "
                                   + ("momentum" if key == "momentum_buffer" else "centered=True"))
        s1, s2, s3 = self._scratch(w, 3)
        state["step"].array += 1

        g = grad
        if maximize:
            g = xp.negative(grad, out=s1)
        if wd != 0:
            xp.multiply(w, wd, out=s2)
            g = xp.add(g, s2, out=s1)                   # g + λθ

        v = state["square_avg"].array                    # v.mul_(α).addcmul_(g, g, 1 − α)
        v *= alpha
        xp.multiply(g, 1 - alpha, out=s2)
        s2 *= g
        v += s2

        if centered:
            gbar = state["grad_avg"].array               # ḡ.lerp_(g, 1 − α), torch's two forms
            weight = 1 - alpha
            xp.subtract(g, gbar, out=s2)
            if abs(weight) < 0.5:
                s2 *= weight
                gbar += s2
            else:
                s2 *= 1 - weight
                xp.subtract(g, s2, out=gbar)
            xp.multiply(gbar, gbar, out=s2)             # v.addcmul(ḡ, ḡ, value=−1).sqrt_()
            xp.subtract(v, s2, out=s2)
            denom = xp.sqrt(s2, out=s2)
        else:
            denom = xp.sqrt(v, out=s2)
        denom += eps

        if momentum > 0:
            buf = state["momentum_buffer"].array         # b.mul_(μ).addcdiv_(g, d)
            buf *= momentum
            xp.divide(g, denom, out=s3)
            buf += s3
            upd = xp.multiply(buf, -lr, out=s3)         # θ.add_(b, alpha=−γ)
        else:
            upd = xp.multiply(g, -lr, out=s3)           # θ.addcdiv_(g, d, value=−γ)
            upd /= denom
        w += upd


def _check_rmsprop(lr, alpha, eps, weight_decay, momentum):
    _check_nonnegative(lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
