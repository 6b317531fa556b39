"""Linear layers and the shape utilities Identity, Flatten, Unflatten."""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..backend import xp
from ..ops.linear import LinearOp
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input unchanged (accepts and ignores constructor arguments, as torch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


def _check_features(layer, x, in_features):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise RuntimeError(f"{layer}: expected input of shape (*, {in_features}), got "
                           f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{layer}: expected a floating point input, got {x.dtype}; convert it "
                        "with .float()")


class Linear(Module):
    """y = x Wᵀ + b with W (out_features, in_features) and b (out_features,).

    Init as torch: W ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), b ~ U(−1/√in, 1/√in).
    Parameters: out·in + out.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        self.weight = Parameter(xp.empty((out_features, in_features), d))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        _check_features(repr(self), x, self.in_features)
        w = self.weight
        if x.dtype != w.dtype:
            raise TypeError(f"{self!r}: input dtype {x.dtype.name} does not match the weight "
                            f"dtype {w.dtype.name}; convert the input or call .to({x.dtype.name}) on the layer")
        if self.bias is None:
            return LinearOp.apply(x, w)
        return LinearOp.apply(x, w, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y = x₁ᵀ A x₂ + b with A (out, in1, in2); init U(−1/√in1, 1/√in1) as torch."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        self.weight = Parameter(xp.empty((out_features, in1_features, in2_features), d))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        _check_features(repr(self), x1, self.in1_features)
        _check_features(repr(self), x2, self.in2_features)
        # y_o = Σ_ij x1_i A_oij x2_j, as two matmuls so the gradients come from the matmul op.
        t = (x1.unsqueeze(-2).unsqueeze(-2) @ self.weight).squeeze(-2)       # (*, out, in2)
        y = (t @ x2.unsqueeze(-1)).squeeze(-1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default 1..-1: keep the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
