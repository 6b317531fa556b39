"""Distances and similarities between vectors: ``cosine_similarity``, ``pairwise_distance``,
``normalize``, and the CosineSimilarity / PairwiseDistance layers.  Light ops, composed of
differentiable primitives (the backward comes from theirs):

    cosine_similarity(x1, x2) = Σ (x1 / max(‖x1‖₂, eps)) · (x2 / max(‖x2‖₂, eps))   over ``dim``
                                (as torch, the clamp is invisible to the gradient: below eps
                                the norm's value is eps but its derivative stays x/‖x‖)
    pairwise_distance(x1, x2) = ‖x1 − x2 + eps‖_p                              over the last dim
    normalize(x)              = x / max(‖x‖_p, eps)                            over ``dim``

x1 and x2 broadcast against each other, as in torch.
"""
from __future__ import annotations

from ..tensor import Tensor
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]
__functional__ = ["cosine_similarity", "pairwise_distance", "normalize"]


def _check(name, *tensors):
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name}: expected floating point tensors, got {t.dtype}")


def _broadcast(name, x1, x2):
    import numpy as np
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"{name}: the shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
                           "broadcast against each other") from None
    return x1.expand(*shape), x2.expand(*shape)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (the norms clamped below at eps)."""
    _check("cosine_similarity", x1, x2)
    x1, x2 = _broadcast("cosine_similarity", x1, x2)
    if not -x1.ndim <= dim < max(x1.ndim, 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for inputs of shape "
                         f"{tuple(x1.shape)}")
    def unit(x):
        n = x.norm(dim=dim, keepdim=True)
        n = n + (n.clamp(min=eps) - n).detach()          # clamped value, unclamped gradient
        return x / n

    return (unit(x1) * unit(x2)).sum(dim=dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p over the last dimension."""
    _check("pairwise_distance", x1, x2)
    x1, x2 = _broadcast("pairwise_distance", x1, x2)
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        raise RuntimeError("pairwise_distance: expected inputs with at least one dimension")
    return diff.norm(p=p, dim=-1, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(‖input‖_p, eps) along ``dim``: unit vectors (zero vectors stay zero)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    _check("normalize", input)
    return input / input.norm(p=p, dim=dim, keepdim=True).clamp(min=eps).expand_as(input)


class CosineSimilarity(Module):
    """cosine_similarity(x1, x2, dim, eps) as a layer."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """pairwise_distance(x1, x2, p, eps, keepdim) as a layer."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
