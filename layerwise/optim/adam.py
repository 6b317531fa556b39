"""Adam and AdamW (torch.optim.Adam / torch.optim.AdamW), with AMSGrad and maximize."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from .optimizer import Optimizer, _as_float, _check_nonnegative, _scalar_dtype


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``): adaptive moment estimation.

    For each parameter θ with gradient g, at step t = 1, 2, ... (γ lr, β₁, β₂
    betas, ε eps, λ weight decay)::

        g ← −g                              if maximize
        θ ← θ·(1 − γλ)                      if λ ≠ 0 and decoupled_weight_decay (AdamW)
        g ← g + λ·θ                         if λ ≠ 0 otherwise (L2 penalty)
        m ← m + (1 − β₁)·(g − m)            (torch's lerp)
        v ← β₂·v + (1 − β₂)·g·g
        v̂ ← max(v̂, v); u ← v̂  if amsgrad,  u ← v  otherwise
        θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√u / √(1 − β₂ᵗ) + ε)

    State per parameter: ``step`` (a 0-d float Tensor, as torch), ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq`` (v̂); all but ``step``
    have the parameter's shape and dtype.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate γ (default 1e-3).
        betas: (β₁, β₂), the moving-average coefficients (default (0.9, 0.999)).
        eps: ε, added to the denominator (default 1e-8).
        weight_decay: λ (default 0).
        amsgrad: use the AMSGrad variant (default False).
        maximize: maximize the objective instead of minimizing it (default False).
        decoupled_weight_decay: decay the weights directly as AdamW does (default False).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam(lr, betas, eps, weight_decay)
        if capturable or differentiable or fused:
            raise NotImplementedError(f"{type(self).__name__}: capturable, differentiable and "
                                      "fused are not supported by layerwise (foreach is accepted "
                                      "and ignored)")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_adam(group["lr"], group["betas"], group["eps"], group["weight_decay"])

    def _group_options(self, group):
        beta1, beta2 = group["betas"]
        return (_as_float(group["lr"], "lr"), _as_float(beta1, "betas[0]"),
                _as_float(beta2, "betas[1]"), float(group["eps"]), float(group["weight_decay"]),
                bool(group["amsgrad"]), bool(group["maximize"]),
                bool(group["decoupled_weight_decay"]))

    def _update(self, p, grad, opts):
        lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled = opts
        w = p.array
        state = self.state[p]
        if len(state) == 0:
            state["step"] = Tensor._wrap(xp.zeros((), _scalar_dtype()))
            state["exp_avg"] = Tensor._wrap(xp.zeros_like(w))
            state["exp_avg_sq"] = Tensor._wrap(xp.zeros_like(w))
            if amsgrad:
                state["max_exp_avg_sq"] = Tensor._wrap(xp.zeros_like(w))
        elif amsgrad and "max_exp_avg_sq" not in state:
            raise RuntimeError(f"{type(self).__name__}: amsgrad=True but the state of a parameter "
                               "has no 'max_exp_avg_sq' (it was created with amsgrad=False)")
        step_t = state["step"]
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        s1, s2 = self._scratch(w, 2)

        step_t.array += 1
        step = float(step_t.array)

        g = grad
        if maximize:
            g = xp.negative(grad, out=s1)
        if wd != 0:
            if decoupled:
                w *= 1 - lr * wd
            else:
                xp.multiply(w, wd, out=s2)
                g = xp.add(g, s2, out=s1)               # g + λθ

        w1 = 1 - beta1                                  # m.lerp_(g, 1 - β₁), torch's two forms
        xp.subtract(g, m, out=s2)
        if w1 < 0.5:
            s2 *= w1
            m += s2
        else:
            s2 *= 1 - w1
            xp.subtract(g, s2, out=m)

        v *= beta2                                      # v.mul_(β₂).addcmul_(g, g, 1 − β₂)
        xp.multiply(g, 1 - beta2, out=s2)
        s2 *= g
        v += s2

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            vmax = state["max_exp_avg_sq"].array
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = xp.sqrt(v, out=s2)
        denom /= bias_correction2_sqrt
        denom += eps
        upd = xp.multiply(m, -step_size, out=s1)        # θ.addcdiv_(m, denom, −step_size)
        upd /= denom
        w += upd


class AdamW(Adam):
    r"""AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay.

    Identical to :class:`Adam` except that weight decay shrinks the parameter
    directly instead of being added to the gradient (γ lr, λ weight decay)::

        θ ← θ·(1 − γλ)
        g ← g   (no L2 term)
        m, v, v̂ and the update as in Adam:
        θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√u / √(1 − β₂ᵗ) + ε)

    The default weight decay is 1e-2.  Groups always have
    ``decoupled_weight_decay=True`` (also after ``load_state_dict``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _after_load(self):
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


def _check_adam(lr, betas, eps, weight_decay):
    _check_nonnegative(lr, eps=eps)
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    if not 0.0 <= _as_float(beta1, "betas[0]") < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= _as_float(beta2, "betas[1]") < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
