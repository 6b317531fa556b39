"""Recurrent layers as fused sequence ops: one autograd node per layer and direction.

Each op runs a whole sequence.  ``x`` is time-major and flattened: ``(N, I)`` with the rows of
time step 0 first, then step 1, ...  A padded batch has ``N = T·B`` (``batch_sizes`` is ``None``:
B rows every step); a packed batch has ``N = Σ_t b_t`` with ``batch_sizes = (b_0, b_1, ...)``
non-increasing, step t owning rows ``off_t .. off_t + b_t`` (the sequences still running at t,
longest first).  A step touches only its ``b_t`` rows: padded steps are never computed.

Forward, for every op:
  1. the input projection of all steps at once, one GEMM:  A = X·W_ihᵀ + b   (N, G)
  2. a Python loop over time only: per step one GEMM  h_{t−1}·W_hhᵀ  (all gates together) and the
     fused gate math with in-place ufuncs into preallocated whole-sequence buffers.
Backward (backprop through time) walks the steps in reverse order, keeping

    dL/dh_t = ∂L/∂y_t (the output gradient at t) + dL/dh_t from step t+1 (through W_hh)

in a (B, H) state buffer (seeded with the gradient of h_n), computes each step's pre-activation
gradient dZ_t (into one whole-sequence buffer) and hands dL/dh_{t−1} = dZ_t·W_hh (+ direct terms) to
the next step.  After the loop every sum over time is one GEMM over all N rows:

    dW_ih = dZᵀ·X      dW_hh = dZᵀ·H_prev      db = Σ_rows dZ      dX = dZ·W_ih

where H_prev stacks each step's previous hidden state.  A sequence that ends at step t (packed)
leaves the state rows ≥ b_{t+1} alone, so its h_n is its own last state, and in backward its row
starts from the gradient of h_n.  ``reverse=True`` runs time backwards (T−1 → 0): each sequence
starts at its own last valid step, and h_n is its state after step 0.

Pass ``record=callback`` to receive, in backward, ‖dL/dh_t‖ for every step t (indexed by time
position, the Frobenius norm over the active (b_t, H) rows) as one float64 array of length T.

Layout inside the LSTM and GRU ops: the gates are stored gate-major, (G, N, H), so each gate's
block of a step is contiguous (ufuncs on strided (n, G·H) row blocks run about half as fast), and
a step's recurrent product is one batched matmul over the gates.  The sigmoid gates' weights are
negated so that σ(a) = 1/(1 + exp(z)) with z = −a takes three ufuncs instead of four; negation is
exact, so the numbers are those of the plain formulas.  Backward works in torch's gate order and
returns gradients in torch's layout.  Large arrays come from a small workspace of recycled
buffers (see ``_Workspace`` in _sequence.py).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module
from ._sequence import _bias_sum, _norm, _Sequence, _sigmoid_neg_, _Steps, _ws, clear_workspace

__all__ = ["RNNSequence", "LSTMSequence", "GRUSequence", "GatherRows", "ScatterRows",
           "clear_workspace"]


# ----------------------------------------------------------------------------- Elman RNN
class RNNSequence(_Sequence):
    """h_t = act(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), act = tanh or relu, over a sequence.

    Inputs ``(x, h0, w_ih, w_hh, b_ih?, b_hh?)``; outputs ``(y, h_n)`` with y (N, H) the h_t.

    Backprop through time, with z_t the pre-activation:
        dh_t = ∂L/∂y_t + dZ_{t+1}·W_hh            (dh_T = ∂L/∂h_n)
        dZ_t = dh_t ⊙ (1 − h_t²)        (tanh)    dZ_t = dh_t ⊙ [h_t > 0]   (relu)
        dW_ih = Σ_t dZ_tᵀ x_t,  dW_hh = Σ_t dZ_tᵀ h_{t−1},  db_ih = db_hh = Σ_t dZ_t,
        dx_t = dZ_t W_ih,  dh0 = dZ_0·W_hh   — the sums as single GEMMs after the loop.
    The derivative of the activation is computed for all steps at once before the loop.
    """

    inputs = ("x", "h0", "weight_ih", "weight_hh", "bias_ih?", "bias_hh?")

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, nonlinearity="tanh",
                batch_sizes=None, reverse=False, record=None):
        xp = get_array_module(x)
        steps = _Steps(x.shape[0], h0.shape[0], batch_sizes, reverse)
        _ws.collect()
        a = xp.matmul(x, w_ih.T, out=_ws.take((x.shape[0], w_ih.shape[0]), x.dtype, xp))
        bias = _bias_sum(b_ih, b_hh)
        if bias is not None:                          # a: (N, H), all steps' input projections
            a += bias
        y, prev, state, _ = steps.chain(h0)
        tmp = xp.empty_like(h0)
        w_hh_t = xp.ascontiguousarray(w_hh.T)         # a transposed view makes small GEMMs ~1.5x slower
        relu = nonlinearity == "relu"
        for t in steps.forward_order():
            o, n = steps.offs[t], steps.sizes[t]
            hp = prev[o:o + n]
            if state is not None:
                hp[...] = state[:n]
            at = a[o:o + n]
            xp.matmul(hp, w_hh_t, out=tmp[:n])
            at += tmp[:n]
            if relu:
                xp.maximum(at, 0, out=y[o:o + n])
            else:
                xp.tanh(at, out=y[o:o + n])
            if state is not None:
                state[:n] = y[o:o + n]
        h_n = steps.final(y, state)
        _ws.give(a)
        if any(self.needs_input_grad):
            self.save_for_backward(x if self.needs_input_grad[2] else None, w_ih, w_hh, y, prev,
                                   steps=steps, relu=relu, record=record)
        return y, h_n

    def backward(self, gy, gh):
        xp = get_array_module(gy)
        x, w_ih, w_hh, y, prev = self.saved
        steps, record, need = self.saved.steps, self.saved.record, self.needs_input_grad
        dz = _ws.take(y.shape, y.dtype, xp)
        if self.saved.relu:                                 # act'(z_t) for every step, one pass
            xp.greater(y, 0, out=dz)
        else:
            xp.multiply(y, y, out=dz)
            xp.subtract(1, dz, out=dz)
        dh = gh.copy()                                # dL/dh of the running state, (B, H)
        norms = xp.zeros(steps.T) if record is not None else None
        for t in steps.backward_order():
            o, n = steps.offs[t], steps.sizes[t]
            d = dh[:n]
            d += gy[o:o + n]                          # total gradient reaching h_t
            if norms is not None:
                norms[t] = _norm(d)
            dzt = dz[o:o + n]
            dzt *= d
            xp.matmul(dzt, w_hh, out=d)               # → dL/dh_{t−1} (rows that continue)
        if norms is not None:
            record(norms)
        gx = xp.matmul(dz, w_ih) if need[0] else None
        gw_ih = xp.matmul(dz.T, x) if need[2] else None
        gw_hh = xp.matmul(dz.T, prev) if need[3] else None
        gb = dz.sum(axis=0) if need[4] or need[5] else None
        _ws.give(dz)
        return (gx, dh if need[1] else None, gw_ih, gw_hh, gb if need[4] else None,
                gb.copy() if need[5] else None)


# ----------------------------------------------------------------------------- LSTM
_FWD_ORDER = (0, 1, 3, 2)          # the forward works on the gates as (i, f, o, g)


def _gate_major(w, H, order, negate):
    """(G·H, K) weight rows → (G, K, H): each gate's block transposed, the blocks in ``order``,
    the first ``negate`` blocks negated (one contiguous copy)."""
    out = w.reshape(-1, H, w.shape[1])[list(order)].transpose(0, 2, 1).copy()
    out[:negate] *= -1
    return out


class LSTMSequence(_Sequence):
    """An LSTM layer (one direction) over a whole sequence, torch's gate order i, f, g, o.

    Inputs ``(x, h0, c0, w_ih, w_hh, b_ih?, b_hh?, w_hr?)``; outputs ``(y, h_n, c_n)``.
    Forward, with a_t = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh split into four H-blocks:
        i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
        c_t = f ⊙ c_{t−1} + i ⊙ g       m_t = o ⊙ tanh(c_t)
        h_t = m_t                  (or h_t = m_t W_hrᵀ with a projection, proj_size > 0)

    Backprop through time (dc_T = ∂L/∂c_n, dh_T = ∂L/∂h_n):
        dh_t = ∂L/∂y_t + dA_{t+1}·W_hh             dm_t = dh_t (or dh_t W_hr)
        dc_t = f_{t+1} ⊙ dc_{t+1} + dm_t ⊙ o ⊙ (1 − tanh²c_t)
        dA_i = dc_t ⊙ g ⊙ i(1 − i)                  dA_f = dc_t ⊙ c_{t−1} ⊙ f(1 − f)
        dA_g = dc_t ⊙ i ⊙ (1 − g²)                  dA_o = dm_t ⊙ tanh(c_t) ⊙ o(1 − o)
        dW_ih = dAᵀX,  dW_hh = dAᵀH_prev,  db_ih = db_hh = Σ dA,  dW_hr = Σ_t dh_tᵀ m_t,
        dX = dA·W_ih   — GEMMs over all steps after the loop.
    The factors that do not depend on the recurrence (g ⊙ i(1 − i), ..., o ⊙ (1 − tanh²c)) are
    computed for all steps at once before the loop.

    Layout: the gates are stored gate-major, (4, N, H), so a step's block of each gate is
    contiguous and every per-step ufunc runs on contiguous memory (2× faster than on the
    (n, 4H) row blocks); the step's recurrent product is one batched matmul over the 4 gates.
    """

    inputs = ("x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih?", "bias_hh?", "weight_hr?")

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, *, batch_sizes=None,
                reverse=False, record=None):
        xp = get_array_module(x)
        H = c0.shape[1]
        steps = _Steps(x.shape[0], h0.shape[0], batch_sizes, reverse)
        _ws.collect()
        N, B, dt = steps.N, steps.B, x.dtype
        # gates[j] for (−i, −f, −o, g): the sigmoid gates negated, σ(a) = 1/(1 + exp(−a)).
        gates = xp.matmul(x, _gate_major(w_ih, H, _FWD_ORDER, 3), out=_ws.take((4, N, H), dt, xp))
        bias = _bias_sum(b_ih, b_hh)
        if bias is not None:
            b = bias.reshape(4, 1, H)[list(_FWD_ORDER)]
            b[:3] *= -1
            gates += b
        whh4 = _gate_major(w_hh, H, _FWD_ORDER, 3)          # (4, P, H)
        whr_t = xp.ascontiguousarray(w_hr.T) if w_hr is not None else None
        y, hprev, hstate, _ = steps.chain(h0)
        c, cprev, cstate, c_bufs = steps.chain(c0, pooled=True)
        tc = _ws.take((N, H), dt, xp)                     # tanh(c_t)
        m = _ws.take((N, H), dt, xp) if w_hr is not None else None
        tmp = xp.empty(4 * B * H, dt)
        t1 = xp.empty((B, H), dt)
        for t in steps.forward_order():
            o, n = steps.offs[t], steps.sizes[t]
            e = o + n
            hp, cp = hprev[o:e], cprev[o:e]
            if hstate is not None:
                hp[...] = hstate[:n]
                cp[...] = cstate[:n]
            g = gates[:, o:e]
            tm = tmp[:4 * n * H].reshape(4, n, H)
            xp.matmul(hp, whh4, out=tm)
            g += tm
            _sigmoid_neg_(g[:3])
            gg = g[3]
            xp.tanh(gg, out=gg)
            ct, tct, u = c[o:e], tc[o:e], t1[:n]
            xp.multiply(g[1], cp, out=ct)
            xp.multiply(g[0], gg, out=u)
            ct += u
            xp.tanh(ct, out=tct)
            if w_hr is None:
                xp.multiply(g[2], tct, out=y[o:e])
            else:
                mt = m[o:e]
                xp.multiply(g[2], tct, out=mt)
                xp.matmul(mt, whr_t, out=y[o:e])
            if hstate is not None:
                hstate[:n] = y[o:e]
                cstate[:n] = ct
        h_n = steps.final(y, hstate)
        c_n = steps.final(c, cstate)
        _ws.lend(self, gates, tc, m, *c_bufs)
        if any(self.needs_input_grad):
            self.save_for_backward(x if self.needs_input_grad[3] else None, w_ih, w_hh, w_hr,
                                   gates, cprev, tc, m, hprev, y, steps=steps, record=record)
        return y, h_n, c_n

    def backward(self, gy, gh, gc):
        xp = get_array_module(gy)
        x, w_ih, w_hh, w_hr, gates, cprev, tc, m, hprev, _ = self.saved
        steps, record, need = self.saved.steps, self.saved.record, self.needs_input_grad
        H = gates.shape[2]
        N, B, dt = steps.N, steps.B, gy.dtype
        P = w_hh.shape[1]
        si, sf, so, gg = gates                        # activated i, f, o, g, each (N, H)
        # The recurrence-free factors for all steps, in torch's order (i, f, g, o):
        # coef = [g·i(1−i), c_{t−1}·f(1−f), i(1−g²), tanh(c)·o(1−o)],  kc = o(1 − tanh²c).
        coef = _ws.take((4, N, H), dt, xp)
        for j, s_, other in ((0, si, gg), (1, sf, cprev), (3, so, tc)):
            cj = coef[j]
            xp.subtract(1, s_, out=cj)
            cj *= s_
            cj *= other
        cg = coef[2]
        xp.multiply(gg, gg, out=cg)
        xp.subtract(1, cg, out=cg)
        cg *= si
        kc = xp.multiply(tc, tc, out=_ws.take((N, H), dt, xp))
        xp.subtract(1, kc, out=kc)
        kc *= so
        da = _ws.take((4, N, H), dt, xp)                  # dL/dA, gate-major in torch's order
        whh4 = w_hh.reshape(4, H, P)
        dh = gh.copy()
        dc = gc.copy()
        dhs = _ws.take(gy.shape, dt, xp) if w_hr is not None else None   # every dh_t (for dW_hr)
        dm_buf = xp.empty((B, H), dt) if w_hr is not None else None
        t1 = xp.empty((B, H), dt)
        tmp = xp.empty(4 * B * P, dt)
        norms = xp.zeros(steps.T) if record is not None else None
        for t in steps.backward_order():
            o, n = steps.offs[t], steps.sizes[t]
            e = o + n
            d = dh[:n]
            d += gy[o:e]                              # total gradient reaching h_t
            if norms is not None:
                norms[t] = _norm(d)
            if w_hr is None:
                dm = d
            else:
                dhs[o:e] = d
                dm = dm_buf[:n]
                xp.matmul(d, w_hr, out=dm)
            dct, u = dc[:n], t1[:n]
            xp.multiply(dm, kc[o:e], out=u)
            dct += u                                  # dc_t
            xp.multiply(coef[:3, o:e], dct, out=da[:3, o:e])     # dA_i, dA_f, dA_g
            xp.multiply(dm, coef[3, o:e], out=da[3, o:e])        # dA_o
            dct *= sf[o:e]                            # → dc_{t−1}
            tm = tmp[:4 * n * P].reshape(4, n, P)
            xp.matmul(da[:, o:e], whh4, out=tm)       # Σ_gates dA_j·W_hh,j → dh_{t−1}
            xp.sum(tm, axis=0, out=d)
        if norms is not None:
            record(norms)
        daT = da.transpose(0, 2, 1)                   # (4, H, N)
        gx = None
        if need[0]:
            parts = xp.matmul(da, w_ih.reshape(4, H, -1), out=_ws.take((4, N, w_ih.shape[1]), dt, xp))
            gx = parts.sum(axis=0)
            _ws.give(parts)
        gb = da.sum(axis=1).reshape(-1) if need[5] or need[6] else None
        out = (gx, dh if need[1] else None, dc if need[2] else None,
               xp.matmul(daT, x).reshape(4 * H, -1) if need[3] else None,
               xp.matmul(daT, hprev).reshape(4 * H, -1) if need[4] else None,
               gb if need[5] else None, gb.copy() if need[6] else None,
               xp.matmul(dhs.T, m) if need[7] else None)
        _ws.give(da, coef, kc, dhs)
        return out


# ----------------------------------------------------------------------------- GRU
class GRUSequence(_Sequence):
    """A GRU layer (one direction) over a whole sequence, torch's gate order r, z, n.

    Inputs ``(x, h0, w_ih, w_hh, b_ih?, b_hh?)``; outputs ``(y, h_n)``.  Forward:
        r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
        q = W_hn h + b_hn                          n = tanh(W_in x + b_in + r ⊙ q)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    Backprop through time (dh_T = ∂L/∂h_n):
        dh_t  = ∂L/∂y_t + [dh_{t+1} ⊙ z_{t+1} + dQ_{t+1}·W_hh]
        dA_n  = dh_t ⊙ (1 − z) ⊙ (1 − n²)           (input side of n: W_in, b_in, x)
        dA_z  = dh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        dA_r  = dA_n ⊙ q ⊙ r(1 − r)
        dQ_t  = (dA_r, dA_z, dA_n ⊙ r)             (hidden side: W_hh, b_hh, h_{t−1})
        dW_ih = [dA_r, dA_z, dA_n]ᵀX,  dW_hh = dQᵀH_prev,  db_ih = Σ[dA_r, dA_z, dA_n],
        db_hh = Σ dQ,  dX = [dA_r, dA_z, dA_n]·W_ih   — GEMMs after the loop.
    The factors (1 − z)(1 − n²), (h_{t−1} − n)z(1 − z), q·r(1 − r) are computed for all steps at
    once before the loop; a step is then two broadcast multiplies, one batched GEMM and updates.
    Gates are stored gate-major, (3, N, H), so every per-step ufunc is on contiguous memory.
    """

    inputs = ("x", "h0", "weight_ih", "weight_hh", "bias_ih?", "bias_hh?")

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False,
                record=None):
        xp = get_array_module(x)
        H = h0.shape[1]
        steps = _Steps(x.shape[0], h0.shape[0], batch_sizes, reverse)
        _ws.collect()
        N, B, dt = steps.N, steps.B, x.dtype
        # gates[j] for (−r, −z, n): −a_r, −a_z (input side + both biases), W_in x + b_in.
        gates = xp.matmul(x, _gate_major(w_ih, H, (0, 1, 2), 2), out=_ws.take((3, N, H), dt, xp))
        b_hn = None
        if b_ih is not None or b_hh is not None:
            b_ih3, b_hh3 = (v.reshape(3, 1, H) if v is not None else xp.zeros((3, 1, H), dt)
                            for v in (b_ih, b_hh))
            gates[:2] -= b_ih3[:2] + b_hh3[:2]
            gates[2] += b_ih3[2]
            b_hn = b_hh3[2]
        whh3 = _gate_major(w_hh, H, (0, 1, 2), 2)       # (3, H, H)
        q = _ws.take((N, H), dt, xp)                      # W_hn h_{t−1} + b_hn, saved for backward
        y, hprev, state, _ = steps.chain(h0)
        tmp = xp.empty(3 * B * H, dt)
        t1 = xp.empty((B, H), dt)
        for t in steps.forward_order():
            o, n = steps.offs[t], steps.sizes[t]
            e = o + n
            hp = hprev[o:e]
            if state is not None:
                hp[...] = state[:n]
            g = gates[:, o:e]
            tm = tmp[:3 * n * H].reshape(3, n, H)
            xp.matmul(hp, whh3, out=tm)
            rz = g[:2]
            rz += tm[:2]
            _sigmoid_neg_(rz)
            qt = q[o:e]
            if b_hn is not None:
                xp.add(tm[2], b_hn, out=qt)
            else:
                qt[...] = tm[2]
            nt, u = g[2], t1[:n]
            xp.multiply(g[0], qt, out=u)
            nt += u
            xp.tanh(nt, out=nt)
            xp.subtract(hp, nt, out=u)                # h = n + z ⊙ (h_{t−1} − n)
            u *= g[1]
            xp.add(nt, u, out=y[o:e])
            if state is not None:
                state[:n] = y[o:e]
        h_n = steps.final(y, state)
        _ws.lend(self, gates, q)
        if any(self.needs_input_grad):
            self.save_for_backward(x if self.needs_input_grad[2] else None, w_ih, w_hh, gates, q,
                                   hprev, y, steps=steps, record=record)
        return y, h_n

    def backward(self, gy, gh):
        xp = get_array_module(gy)
        x, w_ih, w_hh, gates, q, hprev, _ = self.saved
        steps, record, need = self.saved.steps, self.saved.record, self.needs_input_grad
        H = gates.shape[2]
        N, B, dt = steps.N, steps.B, gy.dtype
        r, z, nn = gates                              # activated r, z, n, each (N, H)
        # The recurrence-free factors for all steps:
        # k = [(1−z)(1−n²), (h_{t−1}−n)·z(1−z), q·r(1−r), r].
        k = _ws.take((4, N, H), dt, xp)
        one_z = xp.subtract(1, z, out=_ws.take((N, H), dt, xp))
        xp.multiply(nn, nn, out=k[0])
        xp.subtract(1, k[0], out=k[0])
        k[0] *= one_z
        xp.subtract(hprev, nn, out=k[1])
        k[1] *= z
        k[1] *= one_z
        xp.subtract(1, r, out=k[2])
        k[2] *= r
        k[2] *= q
        k[3] = r
        _ws.give(one_z)
        # e = [dA_n, dA_z, dA_r, dQ_n] per step: e[0:3] are the input-side gradients (n, z, r),
        # e[1:4] the hidden-side ones (z, r, n).
        e = _ws.take((4, N, H), dt, xp)
        whh3 = w_hh.reshape(3, H, H)[[1, 0, 2]]       # W_hh's blocks as (z, r, n)
        dh = gh.copy()
        t1 = xp.empty((B, H), dt)
        tmp = xp.empty(3 * B * H, dt)
        norms = xp.zeros(steps.T) if record is not None else None
        for t in steps.backward_order():
            o, n = steps.offs[t], steps.sizes[t]
            s = slice(o, o + n)
            d = dh[:n]
            d += gy[s]                                # total gradient reaching h_t
            if norms is not None:
                norms[t] = _norm(d)
            xp.multiply(k[0:2, s], d, out=e[0:2, s])              # dA_n, dA_z
            xp.multiply(k[2:4, s], e[0, s], out=e[2:4, s])        # dA_r, dQ_n
            d *= z[s]                                 # direct path h_{t−1} → h_t
            tm, u = tmp[:3 * n * H].reshape(3, n, H), t1[:n]
            xp.matmul(e[1:4, s], whh3, out=tm)
            xp.sum(tm, axis=0, out=u)
            d += u
        if norms is not None:
            record(norms)
        inp, hid = e[0:3], e[1:4]                     # (n, z, r) and (z, r, n)
        nzr, zrn = [2, 1, 0], [1, 0, 2]               # → torch's (r, z, n)
        gx = None
        if need[0]:
            parts = xp.matmul(inp, w_ih.reshape(3, H, -1)[nzr], out=_ws.take((3, N, w_ih.shape[1]), dt, xp))
            gx = parts.sum(axis=0)
            _ws.give(parts)
        out = [gx, dh if need[1] else None,
               xp.matmul(inp.transpose(0, 2, 1), x)[nzr].reshape(3 * H, -1) if need[2] else None,
               xp.matmul(hid.transpose(0, 2, 1), hprev)[zrn].reshape(3 * H, -1) if need[3] else None,
               inp.sum(axis=1)[nzr].reshape(-1) if need[4] else None,
               hid.sum(axis=1)[zrn].reshape(-1) if need[5] else None]
        _ws.give(k, e)
        return tuple(out)


# ----------------------------------------------------------------------------- packing
class GatherRows(Function):
    """z = x.reshape(R, *F)[index], R the product of x's first ``lead`` dims: pick rows (packing).

    ``index`` holds distinct row numbers, so the gradient scatters back by plain assignment:
    dx[index] = dz, zero elsewhere.
    """

    inputs = ("x",)

    def forward(self, x, index=None, lead=2):
        self.save_for_backward(x_shape=x.shape, index=index)
        return x.reshape((-1,) + x.shape[lead:])[index]

    def backward(self, g):
        xp = get_array_module(g)
        out = xp.zeros(self.saved.x_shape, g.dtype)
        out.reshape((-1,) + g.shape[1:])[self.saved.index] = g
        return out


class ScatterRows(Function):
    """z = rows ``index`` of a new (R, *F) array filled with ``fill`` set to x (padding).

    ``index`` holds distinct row numbers: dz/dx picks the same rows back, dx = dz[index].
    """

    inputs = ("x",)

    def forward(self, x, index=None, n_rows=0, fill=0.0):
        xp = get_array_module(x)
        self.save_for_backward(index=index)
        out = xp.full((n_rows,) + x.shape[1:], fill, x.dtype)
        out[index] = x
        return out

    def backward(self, g):
        return g[self.saved.index]
