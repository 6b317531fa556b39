"""Scaled dot-product attention, fused: scores, mask, softmax, dropout and the value product in
one op, with a hand-written backward through the softmax.

For Q (…, L, E), K (…, S, E), V (…, S, Ev), scale s (default 1/√E), additive mask A
(broadcastable to (…, L, S); −inf blocks) and blocked positions B (boolean, from a boolean
mask or is_causal):

    S  = s·Q Kᵀ + A,   S[B] = −inf
    P  = softmax(S) along the last dim, computed as e^(S − max) / Σ e^(S − max)
    P̃  = P ⊙ M / (1 − p)             (dropout keep-mask M; P̃ = P without dropout)
    O  = P̃ V                          (…, L, Ev)

A row whose every score is −inf (fully masked) has no softmax.  ``empty_rows='zero'`` gives it
P = 0, hence O = 0 and zero gradients (torch's scaled_dot_product_attention);
``empty_rows='nan'`` gives P = NaN (the plain softmax 0/0, as torch's MultiheadAttention with
need_weights=True).

Backward, with G = dL/dO and, when the weights are an output too, W = dL/dP̃:

    dV  = P̃ᵀ G
    dP̃  = G Vᵀ + W,        dP = dP̃ ⊙ M / (1 − p)
    dS  = P ⊙ (dP − rowsum(dP ⊙ P))          (the softmax Jacobian, row by row)
    dQ  = s·dS K,   dK = s·dSᵀ Q,   dA = dS summed over A's broadcast dims

Blocked entries have P = 0, so dS = 0 there; a zero row gives dS = 0 for the whole row.
The batch dims (…) of Q, K and V broadcast against each other (grouped-query attention is a
K, V with a size-1 group dim); each gradient is summed back to its input's shape.  Everything
stays in the inputs' dtype; the (…, L, S) score buffer is reused in place for the exponentials
and the probabilities.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module
from ._util import unbroadcast


def _softmax_inplace(s, empty_rows):
    """Row softmax of the score buffer ``s`` in place; returns 1/rowsum (…, L, 1) and leaves
    the exponentials e^(S − max) in ``s`` (the caller multiplies, or folds it into P V)."""
    xp = get_array_module(s)
    m = s.max(axis=-1, keepdims=True)
    m[~xp.isfinite(m)] = 0               # a row of −inf: e^(−inf − 0) = 0 instead of NaN
    s -= m
    xp.exp(s, out=s)
    d = s.sum(axis=-1, keepdims=True)
    if empty_rows == "zero":
        d[d == 0] = xp.inf               # 1/inf = 0: the row's probabilities are all 0
    return xp.reciprocal(d, out=d)       # 'nan': 0 · (1/0) = NaN, as the plain softmax


_CHUNK_SCORES = 1 << 17      # scores per chunk (512 KB in float32): QKᵀ, softmax and PV in cache


def _chunks(score_shape, q, k, v):
    """(slice, part) pairs splitting the work along the first batch dim: ``part(a)`` is a's rows
    for the chunk when a has that dim, else a itself (it broadcasts).  One chunk when the first
    dim is absent, broadcast, or small."""
    nd = len(score_shape)
    n0 = score_shape[0] if nd > 2 else 1
    per_row = 1
    for d in score_shape[1:]:
        per_row *= d
    rows = max(1, _CHUNK_SCORES // max(per_row, 1))
    if nd <= 2 or rows >= n0 or any(a.ndim != nd or a.shape[0] != n0 for a in (q, k, v)):
        return [(slice(None), lambda a: a)]
    out = []
    for i in range(0, n0, rows):
        sl = slice(i, i + rows)
        out.append((sl, lambda a, sl=sl: a[sl] if a.ndim == nd and a.shape[0] == n0 else a))
    return out


class ScaledDotProductAttention(Function):
    """Inputs: Q, K, V and, optionally, the additive float mask A (it gets a gradient).

    Options: ``scale``; ``blocked`` (bool array broadcastable to (…, L, S), True = −inf);
    ``dropout_mask`` (bool keep-mask of shape (…, L, S)) with ``dropout_scale`` = 1/(1 − p);
    ``need_weights`` (also return P̃); ``empty_rows`` ('zero' or 'nan').
    """

    inputs = ("query", "key", "value", "attn_mask?")

    def check(self, q, k, v, am=None, **options):
        if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] \
                or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"{self.name}: expected query (…, L, E), key (…, S, E) and value "
                             f"(…, S, Ev), got {tuple(q.shape)}, {tuple(k.shape)} and "
                             f"{tuple(v.shape)}")

    def forward(self, q, k, v, am=None, *, scale, blocked=None, dropout_mask=None,
                dropout_scale=1.0, need_weights=False, empty_rows="zero"):
        xp = get_array_module(q)
        dt = q.dtype.type
        qs = q * dt(scale)
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2])
        score_shape = tuple(batch) + (q.shape[-2], k.shape[-2])
        out_shape = tuple(xp.broadcast_shapes(batch, v.shape[:-2])) + (q.shape[-2], v.shape[-1])
        need_grad = any(self.needs_input_grad)
        keep = None if dropout_mask is None else dropout_mask * dt(dropout_scale)
        # P is kept whole for the backward and for the weights output; otherwise each chunk's
        # scores live in a small cache-resident buffer.
        p_buf = xp.empty(score_shape, q.dtype) if need_grad or need_weights else None
        pd_buf = xp.empty(score_shape, q.dtype) if keep is not None and need_grad and need_weights \
            else None
        out = xp.empty(out_shape, q.dtype)
        for sl, part in _chunks(score_shape, q, k, v):
            s = xp.matmul(part(qs), xp.swapaxes(part(k), -1, -2),
                          out=None if p_buf is None else p_buf[sl])
            if am is not None:
                s += part(am)
            if blocked is not None:
                xp.copyto(s, dt(-xp.inf), where=part(blocked))
            r = _softmax_inplace(s, empty_rows)
            if p_buf is None and keep is None:
                o = xp.matmul(s, part(v), out=out[sl])                # (e^(S − max) V) / rowsum
                o *= r
                continue
            s *= r                                                    # P
            if keep is None:
                pd = s
            elif pd_buf is not None:
                pd = xp.multiply(s, part(keep), out=pd_buf[sl])
            else:
                pd = s * part(keep) if need_grad else xp.multiply(s, part(keep), out=s)
            xp.matmul(pd, part(v), out=out[sl])
        if need_grad:
            self.save_for_backward(qs, k, v, p_buf, keep, scale=dt(scale), need_weights=need_weights,
                                   mask_shape=None if am is None else am.shape)
        if need_weights:
            return out, (pd_buf if pd_buf is not None else p_buf)
        return out

    def backward(self, g, *gw):
        xp = get_array_module(g)
        qs, k, v, p, keep = self.saved
        need = self.needs_input_grad
        pd = p if keep is None else p * keep
        gv = unbroadcast(xp.matmul(xp.swapaxes(pd, -1, -2), g), v.shape) if need[2] else None
        if not (need[0] or need[1] or need[3]):
            return None, None, gv, None
        dp = unbroadcast(xp.matmul(g, xp.swapaxes(v, -1, -2)), p.shape)   # dL/dP̃
        if self.saved.need_weights and gw:
            dp += gw[0]
        if keep is not None:
            dp *= keep                                               # dL/dP
        dp -= xp.einsum("...j,...j->...", dp, p)[..., None]          # dP − rowsum(dP ⊙ P)
        dp *= p                                                      # dS
        gq = unbroadcast(xp.matmul(dp, k), qs.shape) * self.saved.scale if need[0] else None
        gk = unbroadcast(xp.matmul(xp.swapaxes(dp, -1, -2), qs), k.shape) if need[1] else None
        gm = unbroadcast(dp, self.saved.mask_shape) if need[3] else None
        return gq, gk, gv, gm
