"""The machinery the recurrent sequence ops share: a workspace of recycled buffers, the row
layout of the time steps of a flattened (padded or packed) batch, and the ``_Sequence`` base
whose ``release()`` returns a node's buffers to the workspace.  The ops are in recurrent.py.
"""
from __future__ import annotations

import math
import weakref

from ..autograd.function import Function
from ..backend import get_array_module

# ----------------------------------------------------------------------------- workspace
class _Workspace:
    """Reusable whole-sequence arrays (a small caching allocator for the sequence ops).

    On these machines a freshly mapped page costs ~3 µs to touch, and the C allocator gives large
    freed blocks back to the OS, so every new (N, 4H) buffer paid for its pages again at every
    step (~5 ms of a 20 ms LSTM training step).  Arrays of at least ``min_bytes`` are recycled:
    backward's scratch arrays go back as soon as backward ends; arrays a forward keeps are
    *lent* to its node and come back when the node's ``release()`` runs (its saved state was
    freed, or there is no graph) or the node is gone — never while a retained graph may still
    need them.  Only arrays private to an op are pooled (never an output).
    ``clear_workspace()`` frees everything.
    """

    def __init__(self, max_bytes=256 << 20, min_bytes=64 << 10, per_shape=4):
        self.max_bytes, self.min_bytes, self.per_shape = max_bytes, min_bytes, per_shape
        self.free, self.free_bytes, self.lent = {}, 0, []

    def take(self, shape, dtype, xp):
        """An array of ``shape`` and ``dtype`` of array module ``xp``: a recycled one if free."""
        try:                                      # (pop, not check-then-pop: safe across threads)
            a = self.free[(shape, dtype, xp)].pop()
        except (KeyError, IndexError):
            return xp.empty(shape, dtype)
        self.free_bytes -= a.nbytes
        return a

    def give(self, *arrays):
        for a in arrays:
            if a is None or a.nbytes < self.min_bytes or self.free_bytes + a.nbytes > self.max_bytes:
                continue
            lst = self.free.setdefault((a.shape, a.dtype, get_array_module(a)), [])
            if len(lst) < self.per_shape and not any(b is a for b in lst):
                lst.append(a)
                self.free_bytes += a.nbytes

    def lend(self, op, *arrays):
        self.lent.append((weakref.ref(op), arrays))

    def reclaim(self, op):
        """Take back the arrays lent to ``op`` (its ``release()``)."""
        self._take_back(lambda owner: owner is op)

    def collect(self):
        """Take back the arrays of nodes that have died without releasing them."""
        self._take_back(lambda owner: owner is None)

    def _take_back(self, done):
        if not self.lent:
            return
        lent, keep = self.lent, []
        self.lent = keep
        for ref, arrays in lent:
            if done(ref()):
                self.give(*arrays)
            else:
                keep.append((ref, arrays))

    def clear(self):
        self.free, self.free_bytes, self.lent = {}, 0, []


_ws = _Workspace()


def clear_workspace():
    """Free the arrays the recurrent ops keep for reuse."""
    _ws.clear()


# ----------------------------------------------------------------------------- layout
class _Steps:
    """Row offsets and sizes of the time steps of one flattened sequence batch."""

    def __init__(self, n_rows, batch, batch_sizes, reverse):
        if batch_sizes is None:
            if batch == 0 or n_rows % batch:
                raise ValueError(f"sequence op: {n_rows} rows do not split into steps of batch {batch}")
            sizes = [batch] * (n_rows // batch)
        else:
            sizes = [int(b) for b in batch_sizes]
            if sum(sizes) != n_rows:
                raise ValueError(f"sequence op: batch_sizes sum to {sum(sizes)}, the data has {n_rows} rows")
            if any(b < 0 for b in sizes) or any(a < b for a, b in zip(sizes, sizes[1:])) \
                    or (sizes and sizes[0] > batch):
                raise ValueError(f"sequence op: batch_sizes must be non-increasing and at most the "
                                 f"batch of the initial state ({batch}), got {sizes}")
        self.sizes = sizes
        self.offs = [0] * len(sizes)
        for t in range(1, len(sizes)):
            self.offs[t] = self.offs[t - 1] + sizes[t - 1]
        self.T, self.B, self.N = len(sizes), batch, n_rows
        self.uniform = all(s == batch for s in sizes)
        self.reverse = reverse

    def forward_order(self):
        return range(self.T - 1, -1, -1) if self.reverse else range(self.T)

    def backward_order(self):
        return range(self.T) if self.reverse else range(self.T - 1, -1, -1)

    def chain(self, init, pooled=False):
        """Buffers for a recurrent state over the sequence: ``(out, prev, state, owned)``.

        ``out[rows of t]`` is the state after step t and ``prev[rows of t]`` the one before it.
        With B rows at every step both are views of one (N + B, ·) buffer holding ``init`` at
        the start, so ``prev`` costs nothing (``state`` is None).  Otherwise ``prev`` is filled
        from the running ``state`` (a copy of ``init``) at each step.  ``owned``: the arrays
        allocated (from the workspace when ``pooled``, for a state that is no output).
        """
        xp = get_array_module(init)
        B, N = self.B, self.N
        new = _ws.take if pooled else (lambda shape, dtype, xp: xp.empty(shape, dtype))
        rest = tuple(init.shape[1:])
        if self.uniform:
            buf = new((N + B,) + rest, init.dtype, xp)
            if self.reverse:
                buf[N:] = init
                return buf[:N], buf[B:], None, (buf,)
            buf[:B] = init
            return buf[B:], buf[:N], None, (buf,)
        out, prev = new((N,) + rest, init.dtype, xp), new((N,) + rest, init.dtype, xp)
        return out, prev, init.copy(), (out, prev)

    def final(self, out, state):
        """The state after the last step of every sequence, (B, ·) (a fresh array)."""
        if state is not None:
            return state
        return (out[:self.B] if self.reverse else out[self.N - self.B:]).copy()


def _sigmoid_neg_(z):
    """In place: z ← σ(−z) = 1/(1 + exp(z)) (z holds the negated pre-activation)."""
    xp = get_array_module(z)
    xp.exp(z, out=z)
    z += 1
    xp.reciprocal(z, out=z)


def _norm(a):
    xp = get_array_module(a)
    v = a.reshape(-1)
    return math.sqrt(float(xp.dot(v, v)))


def _bias_sum(b_ih, b_hh):
    """b_ih + b_hh (either may be absent), or None without biases."""
    if b_ih is None or b_hh is None:
        return b_ih if b_hh is None else b_hh
    return b_ih + b_hh


class _Sequence(Function):
    """What the sequence ops share: their workspace arrays go back in ``release()``."""

    def release(self):
        _ws.reclaim(self)
