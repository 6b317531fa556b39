"""Ranking, embedding and likelihood losses, composed of differentiable primitives (their
backward comes from those), with torch's formulas, argument checks and reductions:

    margin_ranking_loss      max(0, −y·(x1 − x2) + margin)
    hinge_embedding_loss     x where y = 1;  max(0, margin − x) where y = −1
    soft_margin_loss         ln(1 + e^(−y·x))
    cosine_embedding_loss    1 − cos(x1, x2) where y = 1;  max(0, cos(x1, x2) − margin) where y = −1
                             (cos = Σ x1·x2 / √((Σx1² + 1e-12)(Σx2² + 1e-12)), as torch)
    triplet_margin_loss      max(0, margin + d(a, p) − d(a, n)),  d = pairwise_distance
                             (swap: d(a, n) ← min(d(a, n), d(p, n)))
    poisson_nll_loss         e^x − t·x (log_input)  or  x − t·ln(x + eps);  full: + Stirling
                             t·ln t − t + ½·ln(2πt) where t > 1
    gaussian_nll_loss        ½·(ln v + (x − t)²/v) (+ ½·ln 2π if full), v clamped at eps
                             without stopping its gradient, as torch
    multilabel_soft_margin_loss  mean over classes of −(y·ln σ(x) + (1 − y)·ln σ(−x)) (·weight)
    multi_margin_loss        Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C   per sample
    multilabel_margin_loss   Σ_{j ∈ targets} Σ_{i ∉ targets} max(0, 1 − (x_j − x_i)) / C   per sample
                             (the targets: the class indices of y before its first −1)
    triplet_margin_with_distance_loss   max(0, margin + d(a, p) − d(a, n)) for any distance d

Then ``reduction``: 'mean' (default), 'sum' or 'none'.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _tensor_ops as T
from ..tensor import Tensor
from .distance import pairwise_distance
from .functional import _check_float, _check_tensor, _reduction, _same_shape, logsigmoid

__functional__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
                  "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
                  "gaussian_nll_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
                  "multilabel_margin_loss", "triplet_margin_with_distance_loss"]


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    name = "margin_ranking_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    for t in (input1, input2, target):
        _check_tensor(t, name)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"{name}: All input tensors should have same dimension but got sizes: "
                           f"input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, "
                           f"target: {tuple(target.shape)} ")
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    name = "hinge_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    hinge = T.where(target != 1, (margin - input).clamp(min=0), 0.0)
    ident = T.where(target != -1, input, 0.0)
    return _reduce(hinge + ident, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    name = "soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    return _reduce(-logsigmoid(target * input), reduction)      # ln(1 + e^(−y·x)), stably


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    name = "cosine_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    for t in (input1, input2):
        _check_float(t, name)
    _check_tensor(target, name, "target")
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"{name}: expected two 1D or 2D inputs of the same shape, got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    dim = input1.ndim - 1
    if tuple(target.shape) != tuple(input1.shape[:dim]):
        raise RuntimeError(f"{name}: target of shape {tuple(target.shape)} should hold one label "
                           f"per pair, shape {tuple(input1.shape[:dim])}")
    eps = 1e-12
    dot = (input1 * input2).sum(dim=dim)
    denom = (((input1 * input1).sum(dim=dim) + eps) * ((input2 * input2).sum(dim=dim) + eps)).sqrt()
    cos = dot / denom
    loss = T.where(target == 1, 1 - cos, 0.0) + T.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    name = "triplet_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    for t in (anchor, positive, negative):
        _check_float(t, name)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"{name}: The anchor, positive, and negative tensors are expected to "
                           f"have the same number of dimensions, but got: anchor "
                           f"{anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = T.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    name = "poisson_nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        t = T.where(big, target, 2.0)             # any value > 1 keeps the masked log finite
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + T.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    name = "gaussian_nll_loss"
    reduction = _reduction(name, reduction)
    _check_float(input, name)
    _check_tensor(target, name, "target")
    if isinstance(var, (int, float)):
        var = Tensor._wrap(np.full(tuple(input.shape), float(var), input.array.dtype))
    _check_float(var, name, "var")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):          # one variance per sample
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass                                                 # homoscedastic
        else:
            raise ValueError(f"{name}: var of shape {tuple(var.shape)} is incorrectly sized for "
                             f"an input of shape {tuple(input.shape)}")
    if bool((var.array < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (var.clamp(min=eps) - var).detach()              # clamped value, gradient kept
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    name = "multilabel_soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _same_shape(input, target, name)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.mean(dim=input.ndim - 1), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    name = "multi_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _check_tensor(target, name, "target")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if input.ndim not in (1, 2) or tuple(target.reshape(-1).shape) != (x.shape[0],):
        raise RuntimeError(f"{name}: expected input (N, C) or (C,) and target (N,) or (), got "
                           f"{tuple(input.shape)} and {tuple(target.shape)}")
    n, c = x.shape
    idx = target.reshape(-1, 1)
    if n and (int(idx.array.min()) < 0 or int(idx.array.max()) >= c):
        raise IndexError(f"{name}: target values must be in [0, {c}), got "
                         f"{idx.array.min()}..{idx.array.max()}")
    x_y = x.gather(1, idx)                                        # (N, 1)
    z = (margin - x_y + x).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, idx.reshape(-1)).reshape(-1, 1)
    others = Tensor._wrap((np.arange(c) != idx.array).astype(x.array.dtype))   # 0 at the target
    loss = (z * others).sum(dim=1) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    name = "multilabel_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _check_float(input, name)
    _check_tensor(target, name, "target")
    if input.ndim not in (1, 2) or tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"{name}: expected input (N, C) or (C,) and a target of the same "
                           f"shape, got {tuple(input.shape)} and {tuple(target.shape)}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    y = target.array.reshape(x.shape)
    n, c = x.shape
    if y.size and (y.min() < -1 or y.max() >= c):
        raise IndexError(f"{name}: target values must be class indices in [0, {c}) or -1, got "
                         f"{y.min()}..{y.max()}")
    neg = y < 0                                          # the labels are y's entries before
    stop = np.where(neg.any(axis=1), neg.argmax(axis=1), c)   # each row's first -1
    valid = np.arange(c) < stop[:, None]
    is_target = np.zeros((n, c), bool)
    is_target[np.nonzero(valid)[0], y[valid]] = True
    pair = (is_target[:, :, None] & ~is_target[:, None, :]).astype(x.array.dtype)   # (N, j, i)
    diff = x.unsqueeze(2) - x.unsqueeze(1)                       # x_j − x_i
    loss = ((1 - diff).clamp(min=0) * Tensor._wrap(pair)).sum(dim=(1, 2)) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    name = "triplet_margin_with_distance_loss"
    reduction = _reduction(name, reduction)
    if margin <= 0:
        raise ValueError(f"{name}: expected margin to be greater than 0, got {margin} instead")
    for t in (anchor, positive, negative):
        _check_float(t, name)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = T.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)
