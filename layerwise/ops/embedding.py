"""Embedding lookups, fused: ``EmbeddingOp`` (rows of a table) and ``EmbeddingBagOp`` (pooled bags).

Embedding.  For a table W (V, D) and integer indices I (any shape, M elements),
    Z = W[I]                   shape (*I.shape, D)
which is the matmul Z = onehot(I) · W with onehot(I) of shape (M, V), so
    dL/dW = onehot(I)ᵀ · dL/dZ:  row v of dL/dW is the sum of the gradient rows at every
position that holds index v — a scatter-add (``scatter_add_rows``: a sort and one sum per
distinct index, or a flat ``add.at``), never the dense (V, M) one-hot product.  Positions
holding ``padding_idx`` add nothing; with ``scale_grad_by_freq`` row v is divided by count(v),
its number of occurrences in I.

EmbeddingBag.  Bag b is the run [s_b, e_b) of the flat indices, without padding entries
(n_b of them):
    sum   z_b  = Σ_{i∈b} a_i W[I_i]         a_i = per_sample_weights (or 1)
    mean  z_b  = (1/n_b) Σ_{i∈b} W[I_i]
    max   z_bd = max_{i∈b} W[I_i, d]
and an empty bag gives 0.  Backward:
    sum / mean   dL/dW[I_i] += a_i g_b  /  g_b / n_b      (a scatter-add over I again)
    max          dL/dW[I_i*, d] += g_bd  for i* the first position holding the maximum
    dL/da_i = ⟨g_b, W[I_i]⟩  (0 for padding entries)
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, scatter_add

_CHUNK = 1 << 19          # elements per ufunc.at call: bounds the flat index temporary (4 MB)


def scatter_rows_(ufunc, out, ids, rows):
    """out[ids[i]] = ufunc(out[ids[i]], rows[i]) for each row i, in place; out (n, D), rows (M, D).

    One flat ``ufunc.at`` over element positions ids[i]·D + d, in chunks of rows.
    """
    xp = get_array_module(out)
    m, d = rows.shape
    if m == 0 or d == 0:
        return out
    flat = out.reshape(-1)
    col = xp.arange(d, dtype=xp.intp)
    step = max(1, _CHUNK // d)
    for a in range(0, m, step):
        pos = ids[a:a + step].astype(xp.intp, copy=False)[:, None] * d + col
        ufunc.at(flat, pos.reshape(-1), rows[a:a + step].reshape(-1))
    return out


def scatter_add_rows(rows, ids, n):
    """out[k] = Σ_{i: ids[i] = k} rows[i]: shape (n, D).

    Two ways, chosen by the number of distinct ids S.  Few (S ≤ M·D / 3000: long runs, a small
    vocabulary): a stable sort of ids, then one contiguous ``sum`` per distinct id.  Many: the
    flat ``add.at`` of ``scatter_rows_``.  Measured on these machines (NumPy 2.4, float32,
    best of 5), sort-and-sum / flat add.at / sort + ``add.reduceat``:
    16384×384 rows into 65 ids 6–8 / 15–17 / 23 ms; 8192×768 into 500 ids 6–7 / 13 ms;
    20000×64 into 10,000 ids 29 / 4 / 15 ms; 4096×256 into 50,257 ids 27 / 13 / 21 ms.
    (``add.reduceat`` along axis 0 is slow per run; a bincount over flat positions was slower
    than add.at everywhere.)
    """
    xp = get_array_module(rows)
    m, d = rows.shape
    out = xp.zeros((n, d), rows.dtype)
    if m == 0 or d == 0:
        return out
    budget = m * d // 3000                  # distinct ids a Python loop over runs can afford
    if n <= budget or xp.count_nonzero(xp.bincount(ids, minlength=n)) <= budget:
        order = xp.argsort(ids, kind="stable")
        s = ids[order]
        change = xp.flatnonzero(s[1:] != s[:-1]) + 1
        starts, ends = [0] + change.tolist(), change.tolist() + [m]
        for a, b in zip(starts, ends):
            xp.sum(rows[order[a:b]], axis=0, out=out[s[a]])
        return out
    return scatter_rows_(xp.add, out, ids, rows)


def _divide_by_frequency(grad, indices, n):
    """grad[v] /= count of v in ``indices`` (rows with count 0 are zero and stay so)."""
    xp = get_array_module(grad)
    counts = xp.bincount(indices.reshape(-1), minlength=n)
    grad /= xp.maximum(counts, 1).astype(grad.dtype)[:, None]
    return grad


class EmbeddingOp(Function):
    """Z = W[indices];  dL/dW = scatter-add of dL/dZ's rows (see the module docstring).

    Inputs: ``weight`` (V, D) and the integer ``indices`` (a Tensor input, so an in-place
    change of it before backward is caught by its version counter).
    """

    inputs = ("weight", "indices")

    def check(self, weight, indices, **options):
        if weight.ndim != 2 or indices.dtype.kind not in "iu":
            raise ValueError(f"{self.name}: expected a weight (V, D) and integer indices, got a "
                             f"weight of shape {tuple(weight.shape)} and indices of dtype "
                             f"{indices.dtype}")

    def forward(self, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        xp = get_array_module(weight)
        self.save_for_backward(indices, weight_shape=weight.shape, padding_idx=padding_idx,
                               scale_grad_by_freq=scale_grad_by_freq)
        return xp.take(weight, indices, axis=0)

    def backward(self, g):
        (indices,) = self.saved
        s = self.saved
        num, dim = s.weight_shape
        idx = indices.reshape(-1)
        g = g.reshape(idx.size, dim)
        if s.padding_idx is not None:
            keep = idx != s.padding_idx
            if not keep.all():
                idx, g = idx[keep], g[keep]
        gw = scatter_add_rows(g, idx, num)
        if s.scale_grad_by_freq:
            _divide_by_frequency(gw, indices, num)
        return gw, None


class EmbeddingBagOp(Function):
    """z_b = sum / mean / max of the rows W[I_i] in bag b (see the module docstring).

    Inputs: ``weight`` (V, D), the integer ``indices`` (1-D, or 2-D read in order) and
    optionally ``per_sample_weights`` of the indices' shape (mode 'sum' only).  Options:
    ``bounds`` (B + 1,) non-decreasing bag boundaries into the flat indices, bounds[0] = 0 and
    bounds[-1] ≤ M (indices after bounds[-1] belong to no bag).
    """

    inputs = ("weight", "indices", "per_sample_weights?")

    def forward(self, weight, indices, per_sample_weights=None, *, bounds=None, mode="mean",
                padding_idx=None, scale_grad_by_freq=False):
        xp = get_array_module(weight)
        n_bags, dim = len(bounds) - 1, weight.shape[1]
        flat = indices.reshape(-1)
        end = int(bounds[-1])
        idx = flat[:end]
        bag = xp.repeat(xp.arange(n_bags), xp.diff(bounds))
        pos = None                                  # positions of the kept entries, when not all
        if padding_idx is not None:
            keep = idx != padding_idx
            if not keep.all():
                pos = xp.flatnonzero(keep)
                idx, bag = idx[pos], bag[pos]
        a = None
        if per_sample_weights is not None:
            a = per_sample_weights.reshape(-1)
            a = a[:end] if pos is None else a[pos]
        counts = xp.bincount(bag, minlength=n_bags)
        rows = xp.take(weight, idx, axis=0)
        extra = None
        if mode == "max":
            out = xp.full((n_bags, dim), -xp.inf, weight.dtype)
            scatter_rows_(xp.maximum, out, bag, rows)
            m = out[bag]
            hit = (rows == m) | (xp.isnan(m) & xp.isnan(rows))
            first = xp.full((n_bags, dim), idx.size)
            scatter_rows_(xp.minimum, first, bag, xp.where(hit, xp.arange(idx.size)[:, None],
                                                            idx.size))
            filled = xp.flatnonzero(counts)
            extra = (filled, idx[first[filled]])          # bags with entries; (filled, D) rows
            out[counts == 0] = 0
        else:
            if a is not None:
                rows *= a[:, None]
            out = scatter_add_rows(rows, bag, n_bags)
            if mode == "mean":
                extra = counts
                out /= xp.maximum(counts, 1).astype(out.dtype)[:, None]
        need_w = self.needs_input_grad[2]
        # indices itself first (guarded by its version counter), then what backward reads
        self.save_for_backward(indices, weight if need_w else None, idx, bag, pos, a, extra,
                               weight_shape=weight.shape, mode=mode,
                               scale_grad_by_freq=scale_grad_by_freq)
        return out

    def backward(self, g):
        xp = get_array_module(g)
        indices, weight, idx, bag, pos, a, extra = self.saved
        (num, dim), mode = self.saved.weight_shape, self.saved.mode
        gw = ga = None
        if self.needs_input_grad[0]:
            if mode == "max":
                filled, argmax = extra
                gw = xp.zeros(num * dim, g.dtype)
                flat = argmax * dim + xp.arange(dim)
                scatter_add(gw, flat.reshape(-1), g[filled].reshape(-1))
                gw = gw.reshape(num, dim)
            else:
                if mode == "mean":
                    g = g / xp.maximum(extra, 1).astype(g.dtype)[:, None]
                rows = g[bag]
                if a is not None:
                    rows *= a[:, None]
                gw = scatter_add_rows(rows, idx, num)
                if self.saved.scale_grad_by_freq:
                    _divide_by_frequency(gw, indices, num)
        if self.needs_input_grad[2]:
            ga = xp.zeros(indices.size, g.dtype)
            dots = xp.einsum("ij,ij->i", g[bag], xp.take(weight, idx, axis=0))
            if pos is None:
                ga[:idx.size] = dots
            else:
                ga[pos] = dots
            ga = ga.reshape(indices.shape)
        return gw, None, ga
