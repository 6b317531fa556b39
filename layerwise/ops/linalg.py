"""Matrix products.

For Z = A·B (batched over leading axes, broadcast like NumPy):
    dL/dA = dL/dZ · Bᵀ        dL/dB = Aᵀ · dL/dZ
summed over any batch axes that broadcasting added.  1-D operands are promoted
to matrices for the product and their gradient is squeezed back.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module
from ._util import unbroadcast


class MatMul(Function):
    """Z = A·B (NumPy matmul semantics);  dL/dA = G·Bᵀ, dL/dB = Aᵀ·G, reduced over broadcast batch dims."""

    inputs = ("a", "b")

    def forward(self, a, b):
        xp = get_array_module(a)
        self.save_for_backward(a if self.needs_input_grad[1] else None,
                               b if self.needs_input_grad[0] else None, shapes=(a.shape, b.shape))
        return xp.matmul(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        a, b = self.saved
        sa, sb = self.saved.shapes
        ga = gb = None
        # Promote vectors to matrices so one formula covers every case.
        if len(sa) == 1 and len(sb) == 1:
            g = g.reshape(1, 1)                      # vector · vector gave a 0-d output
        elif len(sa) == 1:
            g = xp.expand_dims(g, -2)
        elif len(sb) == 1:
            g = xp.expand_dims(g, -1)
        if self.needs_input_grad[0]:
            ga = xp.matmul(g, xp.swapaxes(b[:, None] if b.ndim == 1 else b, -1, -2))
            ga = ga.reshape(-1, sa[0]).sum(0) if len(sa) == 1 else unbroadcast(ga, sa)
        if self.needs_input_grad[1]:
            gb = xp.matmul(xp.swapaxes(a[None, :] if a.ndim == 1 else a, -1, -2), g)
            gb = gb.reshape(-1, sb[0]).sum(0) if len(sb) == 1 else unbroadcast(gb, sb)
        return ga, gb
