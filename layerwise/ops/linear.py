"""The affine map of a Linear layer, fused.

For Y = X Wᵀ + b with X (*, in), W (out, in), b (out,):
    dL/dX = dL/dY · W          dL/dW = (dL/dY)ᵀ · X          dL/db = Σ_rows dL/dY
with the leading dims of X flattened into rows, so the forward and each gradient is one 2-D
GEMM (a batched matmul over the leading dims is ~30% slower in NumPy).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module


class LinearOp(Function):
    """Y = X Wᵀ + b over the last dim of X (*, in);  dL/dX = G W, dL/dW = Gᵀ X, dL/db = Σ G."""

    inputs = ("x", "weight", "bias?")

    def check(self, x, w, b=None):
        if x.ndim == 0 or w.ndim != 2 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"LinearOp: expected an input (*, {w.shape[-1] if w.ndim else '?'}) "
                             f"for a weight of shape {tuple(w.shape)}, got an input of shape "
                             f"{tuple(x.shape)}")
        if b is not None and tuple(b.shape) != (w.shape[0],):
            raise ValueError(f"LinearOp: expected a bias of shape ({w.shape[0]},), got "
                             f"{tuple(b.shape)}")

    def forward(self, x, w, b=None):
        xp = get_array_module(x)
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None)
        rows = x.reshape(-1, x.shape[-1])
        y = xp.matmul(rows, w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        xp = get_array_module(g)
        x, w = self.saved
        gx = gw = gb = None
        g2 = g.reshape(-1, g.shape[-1])
        if self.needs_input_grad[0]:
            gx = xp.matmul(g2, w).reshape(g.shape[:-1] + (w.shape[1],))
        if self.needs_input_grad[1]:
            gw = xp.matmul(g2.T, x.reshape(-1, x.shape[-1]))
        if self.needs_input_grad[2]:
            gb = g2.sum(axis=0)
        return gx, gw, gb
