"""Losses as fused ops, numerically stable, with torch's reductions.

``reduction``: 'none' keeps the per-element loss, 'sum' adds it up, 'mean' divides
the sum by the number of elements.  With class-index targets (cross_entropy,
nll_loss) 'mean' divides by the summed weights of the non-ignored targets
instead, so all targets ignored gives 0/0 = NaN, as torch.

Options (weights, indices) are arrays already validated and cast by
``layerwise.nn.functional``; they get no gradient (torch refuses one too).
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import get_array_module, ignore_float_errors
from .activation import select, stable_sigmoid


def reduce(loss, reduction, denom=None):
    """``loss`` reduced per ``reduction``; 'mean' divides by ``denom`` (default: its size)."""
    xp = get_array_module(loss)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total)
    with ignore_float_errors(xp):
        return xp.asarray(total / (loss.size if denom is None else denom))


def reduction_grad(g, shape, reduction, denom=None):
    """The gradient flowing back through ``reduce`` onto each element of a loss of ``shape``."""
    xp = get_array_module(g)
    if reduction == "none":
        return g
    if reduction == "mean":
        with ignore_float_errors(xp):
            g = g / (math.prod(shape) if denom is None else denom)
    return xp.broadcast_to(g, shape)


# ---------------------------------------------------------------------- class-index targets
def class_target_weights(target, weight, ignore_index, dtype):
    """For targets of shape (N, *d) and classes on dim 1 of the input: the target indices with
    a class axis, safe to gather with (ignored → 0), which targets count, and each target's
    weight w_t (0 where ignored), all of shape (N, 1, *d)."""
    xp = get_array_module(target)
    valid = xp.expand_dims(target != ignore_index, 1)
    idx = xp.where(valid, xp.expand_dims(target, 1), 0)
    if weight is None:
        w_t = valid.astype(dtype)
    else:
        w_t = xp.where(valid, weight[idx], 0).astype(dtype, copy=False)
    return idx, valid, w_t


def _class_shape(weight, ndim):
    """A (C,) class weight shaped to broadcast along dim 1 of an ndim-d input."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


class CrossEntropy(Function):
    """Softmax cross-entropy with class-index targets t, fused; p = softmax(x) along dim 1:

        loss_i = −Σ_c q_ic · ln p_ic,   q_ic = (1 − ε)·w_{t_i}·[c = t_i] + (ε/C)·w_c
        dloss_i/dx_i = p_i · Σ_c q_ic − q_i

    (ε = label_smoothing, w = class weights, 1 without; q_i = 0 where t_i is ignored).
    ln p is never formed: ln p_ic = (x_ic − m_i) − ln Σ_c e^(x_ic − m_i), m_i = max_c x_ic,
    so logits of ±1e4 stay finite.
    """

    inputs = ("input",)

    def forward(self, x, target=None, weight=None, ignore_index=-100, label_smoothing=0.0,
                reduction="mean"):
        xp = get_array_module(x)
        C = x.shape[1]
        idx, valid, w_t = class_target_weights(target, weight, ignore_index, x.dtype)
        m = x.max(axis=1, keepdims=True)
        shifted = x - xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        with ignore_float_errors(xp):
            log_s = xp.log(s)
            logp_t = xp.take_along_axis(shifted, idx, axis=1) - log_s          # ln p_{i,t_i}
            loss = xp.where(valid, w_t * logp_t * -(1 - label_smoothing), 0)
            if label_smoothing > 0:
                # Σ_c w_c ln p_ic = Σ_c w_c (x_ic − m_i) − (Σ_c w_c)·ln s_i
                if weight is None:
                    wsum, sum_wlogp = C, shifted.sum(axis=1, keepdims=True) - log_s * C
                else:
                    wsum = weight.sum()
                    sum_wlogp = (shifted * _class_shape(weight, x.ndim)).sum(axis=1, keepdims=True) \
                        - log_s * wsum
                loss = loss - xp.where(valid, sum_wlogp, 0) * (label_smoothing / C)
            else:
                wsum = None
            p = e / s if self.needs_input_grad[0] else None
        loss = loss.squeeze(1)
        denom = w_t.sum()
        self.save_for_backward(p, idx, valid, w_t, weight=weight, eps=label_smoothing,
                               reduction=reduction, denom=denom, wsum=wsum)
        return reduce(loss, reduction, denom)

    def backward(self, g):
        xp = get_array_module(g)
        p, idx, valid, w_t = self.saved
        weight, eps, reduction = self.saved.weight, self.saved.eps, self.saved.reduction
        gi = xp.expand_dims(reduction_grad(g, w_t.squeeze(1).shape, reduction, self.saved.denom), 1)
        with ignore_float_errors(xp):
            a = xp.where(valid, gi * w_t * (1 - eps), 0)             # one-hot part of q, times g
            b = xp.where(valid, gi * (eps / p.shape[1]), 0) if eps > 0 else None
        grad = p * (a if b is None else a + b * self.saved.wsum)            # p_i · Σ_c q_ic
        if b is not None:
            grad -= b if weight is None else b * _class_shape(weight, p.ndim)
        xp.put_along_axis(grad, idx, xp.take_along_axis(grad, idx, axis=1) - a, axis=1)
        return grad


class NLLLoss(Function):
    """loss_i = −w_{t_i} · x_{i,t_i} (x holds log-probabilities, classes on dim 1);
    dloss_i/dx_{i,c} = −w_{t_i} where c = t_i, else 0.  Ignored targets give 0."""

    inputs = ("input",)

    def forward(self, x, target=None, weight=None, ignore_index=-100, reduction="mean"):
        xp = get_array_module(x)
        idx, valid, w_t = class_target_weights(target, weight, ignore_index, x.dtype)
        loss = xp.where(valid, -w_t * xp.take_along_axis(x, idx, axis=1), 0).squeeze(1)
        denom = w_t.sum()
        self.save_for_backward(idx, valid, w_t, x_shape=x.shape, reduction=reduction, denom=denom)
        return reduce(loss, reduction, denom)

    def backward(self, g):
        xp = get_array_module(g)
        idx, valid, w_t = self.saved
        s = self.saved
        gi = xp.expand_dims(reduction_grad(g, w_t.squeeze(1).shape, s.reduction, s.denom), 1)
        grad = xp.zeros(s.x_shape, g.dtype)
        with ignore_float_errors(xp):
            xp.put_along_axis(grad, idx, xp.where(valid, -gi * w_t, 0), axis=1)
        return grad


class SoftTargetCrossEntropy(Function):
    """Cross-entropy with class-probability targets t (same shape as x), classes on dim 1:

        loss_i = −Σ_c w_c q_ic ln p_ic,  q = (1 − ε)·t + ε/C,  p = softmax(x)
        dloss_i/dx_i = p_i · Σ_c w_c q_ic − w ⊙ q_i,     dloss_i/dt_ic = −(1 − ε)·w_c·ln p_ic

    'mean' divides by the number of samples N·d1·…, not by the weights.
    """

    inputs = ("input", "target")

    def forward(self, x, t, weight=None, label_smoothing=0.0, reduction="mean"):
        xp = get_array_module(x)
        C = x.shape[1]
        m = x.max(axis=1, keepdims=True)
        shifted = x - xp.where(xp.isfinite(m), m, 0)
        with ignore_float_errors(xp):
            logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        q = t * (1 - label_smoothing) + label_smoothing / C if label_smoothing > 0 else t
        wq = q if weight is None else q * _class_shape(weight, x.ndim)
        loss = -(wq * logp).sum(axis=1)
        self.save_for_backward(logp, wq, weight=weight, eps=label_smoothing, reduction=reduction)
        return reduce(loss, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        logp, wq = self.saved
        weight, eps, reduction = self.saved.weight, self.saved.eps, self.saved.reduction
        shape = logp.shape[:1] + logp.shape[2:]
        gi = xp.expand_dims(reduction_grad(g, shape, reduction), 1)
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = (xp.exp(logp) * wq.sum(axis=1, keepdims=True) - wq) * gi
        if self.needs_input_grad[1]:
            wl = logp if weight is None else logp * _class_shape(weight, logp.ndim)
            gt = wl * (gi * -(1 - eps))
        return gx, gt


# ---------------------------------------------------------------------- binary targets
_BCE_EPS = 9.999999960041972e-13      # torch's clamp of x(1 − x): 1e-12 rounded to float32


class BinaryCrossEntropy(Function):
    """loss = −w·(t·max(ln x, −100) + (1 − t)·max(ln(1 − x), −100))   (x, t ∈ [0, 1]);
    dloss/dx = w·(x − t) / max(x(1 − x), 1e-12),   dloss/dt = −w·ln(x/(1 − x))
    (torch's formulas: the clamps keep the loss and the input gradient finite at x = 0 and 1).
    """

    inputs = ("input", "target")

    def forward(self, x, t, weight=None, reduction="mean"):
        xp = get_array_module(x)
        with ignore_float_errors(xp):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (t - 1) * log_1mx - t * log_x
        if weight is not None:
            loss = loss * weight
        self.save_for_backward(x, t, weight=weight, reduction=reduction)
        return reduce(loss, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        x, t = self.saved
        weight, reduction = self.saved.weight, self.saved.reduction
        gl = reduction_grad(g, x.shape, reduction)
        if weight is not None:
            gl = gl * weight
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = gl * (x - t) / xp.maximum(x * (1 - x), _BCE_EPS)
        if self.needs_input_grad[1]:
            with ignore_float_errors(xp):
                gt = -gl * (xp.log(x) - xp.log1p(-x))
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """loss = w·((1 − t)·x − l·ln σ(x)),  l = 1 + (p − 1)·t  (p = pos_weight; l = 1 without);
    dloss/dx = w·(l·σ(x) − p·t)   [w·(σ(x) − t) without pos_weight],
    dloss/dt = w·(−x − (p − 1)·ln σ(x)).
    ln σ(x) = min(x, 0) − ln(1 + e^(−|x|)) never overflows.
    """

    inputs = ("input", "target")

    def forward(self, x, t, weight=None, pos_weight=None, reduction="mean"):
        xp = get_array_module(x)
        log_sig = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            loss = (1 - t) * x - log_sig
        else:
            loss = (1 - t) * x - ((pos_weight - 1) * t + 1) * log_sig
        if weight is not None:
            loss = loss * weight
        self.save_for_backward(x, t, log_sig, weight=weight, pos_weight=pos_weight,
                               reduction=reduction)
        return reduce(loss, reduction)

    def backward(self, g):
        x, t, log_sig = self.saved
        weight, pw, reduction = self.saved.weight, self.saved.pos_weight, self.saved.reduction
        gl = reduction_grad(g, x.shape, reduction)
        if weight is not None:
            gl = gl * weight
        gx = gt = None
        if self.needs_input_grad[0]:
            s = stable_sigmoid(x)
            gx = gl * (s - t if pw is None else ((pw - 1) * t + 1) * s - pw * t)
        if self.needs_input_grad[1]:
            gt = gl * (-x if pw is None else -x - (pw - 1) * log_sig)
        return gx, gt


# ---------------------------------------------------------------------- regression
class _DifferenceLoss(Function):
    """A loss f(d) of the difference d = x − t, elementwise:
    dloss/dx = f′(d), dloss/dt = −f′(d).  Subclasses give ``f`` and ``df``."""

    inputs = ("input", "target")

    def forward(self, x, t, reduction="mean", **params):
        d = x - t
        self.save_for_backward(d, reduction=reduction, params=params)
        return reduce(self.f(d, **params), reduction)

    def backward(self, g):
        (d,) = self.saved
        gd = reduction_grad(g, d.shape, self.saved.reduction) * self.df(d, **self.saved.params)
        return (gd if self.needs_input_grad[0] else None,
                -gd if self.needs_input_grad[1] else None)


class MSELoss(_DifferenceLoss):
    """f(d) = d²;  f′(d) = 2d."""

    @staticmethod
    def f(d):
        return d * d

    @staticmethod
    def df(d):
        return d * 2


class L1Loss(_DifferenceLoss):
    """f(d) = |d|;  f′(d) = sign(d) (0 at d = 0)."""

    @staticmethod
    def f(d):
        xp = get_array_module(d)
        return xp.abs(d)

    @staticmethod
    def df(d):
        xp = get_array_module(d)
        return xp.sign(d)


class SmoothL1Loss(_DifferenceLoss):
    """f(d) = d²/(2β) for |d| < β, else |d| − β/2;  f′(d) = clamp(d/β, −1, 1).  (β > 0)"""

    @staticmethod
    def f(d, beta=1.0):
        xp = get_array_module(d)
        ad = xp.abs(d)
        return select(ad < beta, d * d * 0.5 / beta, ad - 0.5 * beta)

    @staticmethod
    def df(d, beta=1.0):
        xp = get_array_module(d)
        return xp.clip(d / beta, -1, 1)


class HuberLoss(_DifferenceLoss):
    """f(d) = d²/2 for |d| < δ, else δ·(|d| − δ/2);  f′(d) = clamp(d, −δ, δ)."""

    @staticmethod
    def f(d, delta=1.0):
        xp = get_array_module(d)
        ad = xp.abs(d)
        return select(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)

    @staticmethod
    def df(d, delta=1.0):
        xp = get_array_module(d)
        return xp.clip(d, -delta, delta)


class KLDiv(Function):
    """The pointwise KL term with x = ln q (log-probabilities) and target t:

        log_target=False:  loss = t·(ln t − x)  (0 where t = 0);   dloss/dx = −t,   dloss/dt = ln t + 1 − x
        log_target=True:   loss = eᵗ·(t − x);                       dloss/dx = −eᵗ,  dloss/dt = eᵗ·(t − x + 1)

    With log_target=False the target gradient is NaN where t = 0, as torch's (its xlogy
    gives 0/0 there).  'batchmean' is the sum divided by x.shape[0] (passed as ``denom``).
    """

    inputs = ("input", "target")

    def forward(self, x, t, reduction="mean", log_target=False, denom=None):
        xp = get_array_module(x)
        with ignore_float_errors(xp):
            if log_target:
                et = xp.exp(t)
                loss = et * (t - x)
            else:
                et = None
                loss = xp.where(t == 0, 0, t * xp.log(t)) - t * x
        self.save_for_backward(x, t, et, reduction=reduction, log_target=log_target, denom=denom)
        return reduce(loss, reduction, denom)

    def backward(self, g):
        xp = get_array_module(g)
        x, t, et = self.saved
        s = self.saved
        reduction, log_target, denom = s.reduction, s.log_target, s.denom
        gl = reduction_grad(g, x.shape, reduction, denom)
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = gl * -(et if log_target else t)
        if self.needs_input_grad[1]:
            with ignore_float_errors(xp):
                if log_target:
                    gt = gl * et * (t - x + 1)
                else:
                    gt = gl * xp.where(t == 0, xp.nan, xp.log(t) + 1 - x)
        return gx, gt
