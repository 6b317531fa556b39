"""Pooling ops, fused: max / average pooling, the adaptive pools and max-unpool.

Every op works on arrays of shape (..., H, W): the leading dims (N, C, or just C) are planes
pooled independently.  1-d pools call the 2-d ops with H = 1.

Windows.  Output (i, j) reads the input at rows i·sH − pH + a·dH and columns j·sW − pW + b·dW for
the kernel offsets a < kH, b < kW.  For one fixed offset (a, b) the values read by all outputs
form a single strided view of the padded input,

    xpad[..., a·dH : a·dH + sH·(OH−1) + 1 : sH,  b·dW : b·dW + sW·(OW−1) + 1 : sW],

so forward and backward loop over the kH·kW offsets only; every step is one whole-array
operation (no Python loop over batch, channels or pixels).

Max pool:  y = max over the window, and the offset kept is the *first* maximum in scan order
(row-major over (a, b)), as torch; a NaN always wins, so the last NaN is kept (torch's
``val > max || isnan(val)``).  Backward sends each window's gradient to that one input:
    dL/dx[p] = Σ_{windows w with argmax(w) = p} dL/dy[w].
Average pool:  y = (Σ window) / D with D = the window clipped to the padded input
(count_include_pad), or the number of real pixels in it, or divisor_override.  Backward:
    dL/dx[p] = Σ_{windows w ∋ p} dL/dy[w] / D[w].
Adaptive pools: output bin i covers [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉) along each axis.
"""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import get_array_module, host


# ---------------------------------------------------------------------------------- geometry
def pool_output_size(size, k, s, p, d=1, ceil_mode=False):
    """torch's pooling_output_shape: ⌊ or ⌈(size + 2p − d(k−1) − 1)/s⌉ + 1; with ceil_mode the
    last window must start inside the input or the left padding.  May be ≤ 0 (caller errors)."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _padded(x, out_hw, k, s, p, d, fill):
    """x padded by p on the top/left and by whatever the last window needs on the bottom/right
    (ceil_mode windows may overhang the padding).  Returns x itself when nothing is needed."""
    xp = get_array_module(x)
    H, W = x.shape[-2:]
    need_h = (out_hw[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1
    need_w = (out_hw[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1
    ph, pw = max(need_h, p[0] + H), max(need_w, p[1] + W)
    if (ph, pw) == (H, W):
        return x
    out = xp.full(x.shape[:-2] + (ph, pw), fill, x.dtype)
    out[..., p[0]:p[0] + H, p[1]:p[1] + W] = x
    return out


def _window(a, kh, kw, out_hw, s, d):
    """The strided view of ``a`` (padded coordinates) read by kernel offset (kh, kw)."""
    r, c = kh * d[0], kw * d[1]
    return a[..., r:r + s[0] * (out_hw[0] - 1) + 1:s[0], c:c + s[1] * (out_hw[1] - 1) + 1:s[1]]


def _offsets(k):
    return [(a, b) for a in range(k[0]) for b in range(k[1])]


def _crop(gpad, shape, p):
    xp = get_array_module(gpad)
    if gpad.shape == tuple(shape):
        return gpad
    H, W = shape[-2:]
    return xp.ascontiguousarray(gpad[..., p[0]:p[0] + H, p[1]:p[1] + W])


def _lowest(dtype):
    return float("-inf") if dtype.kind == "f" else int(host.iinfo(dtype).min)


def _first_max(views):
    """(max, index of the first view holding it) elementwise over a list of same-shaped arrays.

    The max is a chain of ``maximum``; the index is found walking the views backwards, setting
    it wherever a view equals the max, so the first (scan order) match is the one left — torch's
    strict '>' tie rule.  A NaN anywhere falls back to an exact scan with torch's NaN rule.
    """
    xp = get_array_module(*views)
    best = views[0].copy()
    for v in views[1:]:
        xp.maximum(best, v, out=best)
    k_n = len(views)
    itype = xp.uint8 if k_n <= 256 else xp.int32
    arg = xp.full(best.shape, k_n - 1, itype)
    if k_n > 1:
        hit = xp.empty(best.shape, bool)
        step = xp.empty(best.shape, itype)
        for k in range(k_n - 2, -1, -1):          # arg ← k where views[k] == best
            xp.equal(views[k], best, out=hit)
            xp.subtract(arg, itype(k), out=step)
            xp.multiply(step, hit, out=step)
            xp.subtract(arg, step, out=arg)
    if best.dtype.kind == "f" and xp.isnan(best).any():
        best = views[0].copy()
        arg[...] = 0
        for k, v in enumerate(views[1:], 1):
            take = (v > best) | xp.isnan(v)
            best[take] = v[take]
            arg[take] = k
    return best, arg


# ---------------------------------------------------------------------------------- max pool
class MaxPool2dOp(Function):
    """Max pooling over (..., H, W); returns y, or (y, indices) with flat indices into each H·W
    plane.  Backward: each window's gradient goes to the input its index names (the first
    maximum in scan order), summed where overlapping windows pick the same input."""

    inputs = ("x",)

    def forward(self, x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                out_hw=(1, 1), return_indices=False):
        xp = get_array_module(x)
        k, s, p, d = kernel_size, stride, padding, dilation
        fill = _lowest(x.dtype)
        xpad = _padded(x, out_hw, k, s, p, d, fill)
        views = [_window(xpad, a, b, out_hw, s, d) for a, b in _offsets(k)]
        need_arg = return_indices or self.needs_input_grad[0]
        if not need_arg:
            y = views[0].copy()
            for v in views[1:]:
                xp.maximum(y, v, out=y)
            return y
        y, arg = _first_max(views)
        if xpad is not x and (y == fill).any():
            arg = self._fix_all_lowest(y, arg, fill, x.shape, k, s, p, d, out_hw)
        if self.needs_input_grad[0]:
            self.save_for_backward(arg, geometry=(x.shape, xpad.shape, k, s, p, d, out_hw))
        if not return_indices:
            return y
        return y, self._flat_indices(arg, x.shape[-1], k, s, p, d, out_hw)

    @staticmethod
    def _flat_indices(arg, W, k, s, p, d, out_hw):
        xp = get_array_module(arg)
        a, b = xp.divmod(arg.astype(xp.int64), k[1])
        ih = (xp.arange(out_hw[0]) * s[0] - p[0])[:, None] + a * d[0]
        iw = (xp.arange(out_hw[1]) * s[1] - p[1])[None, :] + b * d[1]
        return ih * W + iw

    @staticmethod
    def _fix_all_lowest(y, arg, fill, shape, k, s, p, d, out_hw):
        """A window whose real values all equal the padding value (−inf): torch keeps the first
        *real* position of the window, not a padding one."""
        xp = get_array_module(y)
        H, W = shape[-2:]

        def first_real(n_out, size, s_, p_, d_, k_):
            start = xp.arange(n_out) * s_ - p_
            first = xp.maximum(0, -(start // d_))              # ⌈−start/d⌉ offsets skipped
            return xp.minimum(first, k_ - 1)

        a0 = first_real(out_hw[0], H, s[0], p[0], d[0], k[0])
        b0 = first_real(out_hw[1], W, s[1], p[1], d[1], k[1])
        first = (a0[:, None] * k[1] + b0[None, :]).astype(arg.dtype)
        return xp.where(y == fill, first, arg)

    def backward(self, g, *_):
        xp = get_array_module(g)
        (arg,) = self.saved
        shape, pshape, k, s, p, d, out_hw = self.saved.geometry
        gpad = xp.zeros(pshape, g.dtype)
        overlap = s[0] < d[0] * (k[0] - 1) + 1 or s[1] < d[1] * (k[1] - 1) + 1
        hit = xp.empty(g.shape, bool)
        part = xp.empty(g.shape, g.dtype) if overlap else None
        for i, (a, b) in enumerate(_offsets(k)):
            view = _window(gpad, a, b, out_hw, s, d)
            xp.equal(arg, i, out=hit)
            if overlap:
                xp.multiply(g, hit, out=part)
                view += part
            else:                                   # each input is read by one window at most
                xp.multiply(g, hit, out=view)
        return _crop(gpad, shape, p)


# ---------------------------------------------------------------------------------- avg pool
def avg_divisor(out_hw, shape, k, s, p, count_include_pad, divisor_override, dtype, xp):
    """The (OH, OW) divisor of each window, exactly as torch: the window clipped to the padded
    input (count_include_pad), or the number of real pixels in it, or divisor_override."""
    if divisor_override:
        return xp.asarray(divisor_override, dtype)
    sizes = []
    for n_out, size, k_, s_, p_ in zip(out_hw, shape[-2:], k, s, p):
        start = xp.arange(n_out) * s_ - p_
        end = xp.minimum(start + k_, size + p_)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(dtype)


class AvgPool2dOp(Function):
    """Average pooling over (..., H, W): y = Σ window / D (D from ``avg_divisor``).
    Backward: dL/dx = Σ over the windows containing x of dL/dy / D."""

    inputs = ("x",)

    def forward(self, x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0), out_hw=(1, 1),
                count_include_pad=True, divisor_override=None):
        xp = get_array_module(x)
        k, s, p = kernel_size, stride, padding
        one = (1, 1)
        xpad = _padded(x, out_hw, k, s, p, one, 0)
        views = [_window(xpad, a, b, out_hw, s, one) for a, b in _offsets(k)]
        y = views[0].copy()
        for v in views[1:]:
            xp.add(y, v, out=y)
        div = avg_divisor(out_hw, x.shape, k, s, p, count_include_pad, divisor_override, x.dtype,
                          xp)
        y /= div
        self.save_for_backward(div=div, geometry=(x.shape, xpad.shape, k, s, p, out_hw))
        return y

    def backward(self, g):
        xp = get_array_module(g)
        shape, pshape, k, s, p, out_hw = self.saved.geometry
        gd = g / self.saved.div
        one = (1, 1)
        overlap = s[0] < k[0] or s[1] < k[1]
        exact_cover = s == k and pshape == shape and (out_hw[0] * k[0], out_hw[1] * k[1]) == shape[-2:]
        gpad = (xp.empty if exact_cover else xp.zeros)(pshape, g.dtype)
        for a, b in _offsets(k):
            view = _window(gpad, a, b, out_hw, s, one)
            if overlap:
                view += gd
            else:
                view[...] = gd
        return _crop(gpad, shape, p)


# ---------------------------------------------------------------------------------- adaptive
def adaptive_bins(n_in, n_out, xp):
    """Bin i covers [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉), as torch's start_index / end_index."""
    i = xp.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_matrix(n_in, n_out, dtype, xp):
    """A (Out, In) averaging matrix: row i holds 1/len over bin i, so y = A_H · x · A_Wᵀ."""
    start, end = adaptive_bins(n_in, n_out, xp)
    cols = xp.arange(n_in)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2dOp(Function):
    """y = A_H · x · A_Wᵀ with A the (Out, In) bin-averaging matrices (the mean over each
    rectangular bin factorises into a row mean and a column mean).
    Backward: dL/dx = A_Hᵀ · dL/dy · A_W."""

    inputs = ("x",)

    def forward(self, x, out_hw=(1, 1)):
        xp = get_array_module(x)
        H, W = x.shape[-2:]
        if tuple(out_hw) == (1, 1):                  # global average pool: a plain mean
            self.save_for_backward(in_shape=x.shape, mats=None)   # (row sums: one BLAS gemv)
            sums = xp.matmul(x.reshape(-1, H * W), xp.ones(H * W, x.dtype))
            return (sums / x.dtype.type(H * W)).reshape(x.shape[:-2] + (1, 1))
        ah = _adaptive_matrix(H, out_hw[0], x.dtype, xp)
        aw = _adaptive_matrix(W, out_hw[1], x.dtype, xp)
        self.save_for_backward(in_shape=x.shape, mats=(ah, aw))
        t = xp.matmul(x.reshape(-1, W), aw.T).reshape(x.shape[:-1] + (out_hw[1],))
        return xp.matmul(ah, t)

    def backward(self, g):
        xp = get_array_module(g)
        in_shape, mats = self.saved.in_shape, self.saved.mats
        if mats is None:
            gx = xp.empty(in_shape, g.dtype)
            gx[...] = g / g.dtype.type(in_shape[-2] * in_shape[-1])
            return gx
        ah, aw = mats
        t = xp.matmul(ah.T, g)
        lead = t.shape[:-1]
        return xp.matmul(t.reshape(-1, t.shape[-1]), aw).reshape(lead + (aw.shape[1],))


class AdaptiveMaxPool2dOp(Function):
    """Max over each adaptive bin; returns y or (y, flat indices into each H·W plane).
    Bins of unequal length are padded by repeating their last row/column, which can neither
    change the max nor move the first maximum in scan order.
    Backward: dL/dx[p] = Σ_{bins whose argmax is p} dL/dy (a bincount over flat indices)."""

    inputs = ("x",)

    def forward(self, x, out_hw=(1, 1), return_indices=False):
        xp = get_array_module(x)
        H, W = x.shape[-2:]
        oh, ow = out_hw
        if oh == 0 or ow == 0:
            y = xp.empty(x.shape[:-2] + (oh, ow), x.dtype)
            idx = xp.empty(y.shape, xp.int64)
        else:
            rows = self._taps(H, oh, xp)                  # (OH, KH) input rows per bin
            cols = self._taps(W, ow, xp)                  # (OW, KW)
            views = [x[..., rows[:, a][:, None], cols[:, b][None, :]]
                     for a in range(rows.shape[1]) for b in range(cols.shape[1])]
            y, arg = _first_max(views)
            a, b = xp.divmod(arg.astype(xp.int64), cols.shape[1])
            idx = rows[xp.arange(oh)[:, None], a] * W + cols[xp.arange(ow)[None, :], b]
        if self.needs_input_grad[0]:
            self.save_for_backward(idx, in_shape=x.shape)
        return (y, idx) if return_indices else y

    @staticmethod
    def _taps(n_in, n_out, xp):
        start, end = adaptive_bins(n_in, n_out, xp)
        k = int((end - start).max())
        return xp.minimum(start[:, None] + xp.arange(k)[None, :], end[:, None] - 1)

    def backward(self, g, *_):
        (idx,) = self.saved
        return scatter_planes(g, idx, self.saved.in_shape)


def scatter_planes(g, idx, shape):
    """Σ of g into a zero array of ``shape`` at flat per-plane indices ``idx`` (repeats add)."""
    xp = get_array_module(g)
    hw = shape[-2] * shape[-1]
    n_planes = math.prod(shape[:-2])
    per_plane = idx.size // n_planes if n_planes else 0
    flat = (idx.reshape(n_planes, per_plane) + (xp.arange(n_planes) * hw)[:, None]).ravel()
    out = xp.bincount(flat, weights=g.reshape(-1), minlength=n_planes * hw)
    return out.astype(g.dtype, copy=False).reshape(shape)


# ---------------------------------------------------------------------------------- unpool
class MaxUnpool2dOp(Function):
    """Inverse of max pooling: y = zeros(..., OH, OW) with y.flat_plane[indices] = x.
    Backward: dL/dx = dL/dy gathered at the same indices."""

    inputs = ("x",)

    def forward(self, x, indices=None, out_hw=(1, 1)):
        xp = get_array_module(x)
        lead = x.shape[:-2]
        n_planes = math.prod(lead)
        size = out_hw[0] * out_hw[1]
        idx = indices.reshape(n_planes, indices.size // n_planes if n_planes else 0)
        rows = xp.arange(n_planes)[:, None]
        y = xp.zeros((n_planes, size), x.dtype)
        y[rows, idx] = x.reshape(idx.shape)
        self.save_for_backward(idx, rows, in_shape=x.shape)
        return y.reshape(lead + tuple(out_hw))

    def backward(self, g):
        idx, rows = self.saved
        g2 = g.reshape(rows.shape[0], g.size // rows.shape[0] if rows.shape[0] else 0)
        return g2[rows, idx].reshape(self.saved.in_shape)
