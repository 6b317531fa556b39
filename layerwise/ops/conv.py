"""Convolution and transposed convolution as fused ops, the backward written out.

Notation (2-D; a 1-D convolution is the same with a height of 1).  Input X (N, C, H, W),
kernel K (O, C/G, kh, kw) in G groups, stride s, dilation d, Xp the zero-padded input::

    A[n, o, y, x] = b[o] + Σ_{c ∈ group(o), i, j} K[o, c, i, j] · Xp[n, c, y·s + i·d, x·s + j·d]
    H_out = ⌊(H + p_top + p_bottom − d·(kh − 1) − 1) / s⌋ + 1           (W_out alike)

The effective kernel is d·(k − 1) + 1 wide.  Backward, for stride 1 and no dilation:

    dL/dK = conv(X, dL/dA)       — the input correlated with the output gradient (per group)
    dL/dX = full convolution of dL/dA with K rotated 180° (zero padding k − 1 on every side),
            the in and out channel roles swapped within each group
    dL/db = Σ_{n, y, x} dL/dA    (tied bias, b (O,));   Σ_n dL/dA (untied bias, b (O, H_out, W_out))

With stride s the same formulas hold once dL/dA is dilated by s (s − 1 zeros between its
entries: input rows and columns the stride skipped get no gradient); with dilation d the
kernel is dilated instead.

How it is computed: every product above is a GEMM over a column matrix.

    im2col   cols[n, g, c, (i, j), y, x] = Xp[n, g·Cg + c, y·s + i·d, x·s + j·d]
             built with one strided copy per kernel offset (i, j), kh·kw copies in all
    forward  A[n, g]     = K[g] (Og, Cg·kh·kw) @ cols[n, g] (Cg·kh·kw, H_out·W_out)
    weight   dL/dK[g]    = Σ_n dL/dA[n, g] @ cols[n, g]ᵀ                 (= conv(X, dL/dA))
    input    dcols[n, g] = K[g]ᵀ @ dL/dA[n, g];  col2im adds every column back to the pixels it
             was read from, one strided add per kernel offset: that scatter *is* the full
             convolution with the rotated kernel (and the dilated gradient when strided).

Groups are a batch axis of the matmul, never a Python loop.  The batch is processed in chunks
whose column matrix stays in cache (the loop over chunks is the only other loop); the padding,
column and col2im buffers are allocated once per call and reused by every chunk.  The column
matrix is not kept for backward: the weight gradient rebuilds it from the saved input, chunk by
chunk, which costs one more set of kh·kw copies and keeps the memory to the input alone.  With
a horizontal stride of 1 the column rows are usually "wide" (every padded column, so that the
copies and adds run over long contiguous stretches: see ``Geometry``).

A transposed convolution is the input-gradient of a convolution: its forward is ``grad_input``
(GEMM + col2im), and its backward is the convolution forward (dL/dX) and ``grad_weight``.

Non-zero padding modes ('reflect', 'replicate', 'circular') pad explicitly first (``Pad``), as
torch does, and the convolution then runs unpadded.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module

#: Bytes of column matrix per chunk of the batch: small enough to stay in the L2/L3 cache.
CHUNK_BYTES = 4 << 20
#: Wide rows (see Geometry) when they add at most this many GEMM flops per row of the columns.
WIDE_MAX_FLOPS = 1024


class Geometry:
    """The shapes of one 2-D convolution, and the views its im2col / col2im copy through.

    Input (N, C, H, W), kernel (O, Cg, kh, kw) with C = G·Cg and O = G·Og, padding
    ((top, bottom), (left, right)), the padded input (Hp, Wp) and the output (Ho, Wo).  ``out_hw``
    overrides the output size (a transposed convolution with output_padding ≥ stride uses only
    the first rows of the grid).

    Wide rows: with a horizontal stride of 1 the column matrix can hold every position of the
    padded width (Wq = Wp) instead of the Wo valid ones.  Kernel offset (i, j) then reads the flat
    padded plane at i·d·Wp + j·d + y·s·Wp + x' — runs of Wp contiguous values (all Ho·Wp of them
    when s = 1) instead of runs of Wo — at the price of (Wp − Wo)/Wo more GEMM work, whose extra
    output columns are dropped (forward) or multiply zeros (backward: dL/dA is widened with 0).
    Short rows cost ~10 ns each to copy, the extra GEMM work ~2·Og·(Wp − Wo) flops per row, so
    rows are made wide when that is under ~1,000 flops (a few ns).
    """

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, out_hw=None):
        self.N, self.C, self.H, self.W = x_shape
        self.O, self.Cg, self.kh, self.kw = w_shape
        self.G = groups
        self.Og = self.O // groups
        (self.sh, self.sw), (self.dh, self.dw) = stride, dilation
        (self.pt, self.pb), (self.pl, self.pr) = padding
        self.Hp, self.Wp = self.H + self.pt + self.pb, self.W + self.pl + self.pr
        if out_hw is None:
            out_hw = ((self.Hp - self.dh * (self.kh - 1) - 1) // self.sh + 1,
                      (self.Wp - self.dw * (self.kw - 1) - 1) // self.sw + 1)
        self.Ho, self.Wo = out_hw
        self.K = self.kh * self.kw
        self.L = self.Ho * self.Wo
        # A 1×1, stride-1, unpadded convolution needs no column matrix: it is a GEMM on X itself.
        self.direct = (self.K == 1 and not any((self.pt, self.pb, self.pl, self.pr))
                       and (self.sh, self.sw) == (1, 1) and (self.Ho, self.Wo) == (self.H, self.W))
        self.wide = (not self.direct and self.sw == 1 and self.Ho > 1
                     and 2 * self.Og * (self.Wp - self.Wo) <= WIDE_MAX_FLOPS)
        self.Wq = self.Wp if self.wide else self.Wo
        self.Lq = self.Ho * self.Wq
        self.plane = self.Hp * self.Wp

    def chunk(self, itemsize):
        """Samples per chunk: the column matrix of a chunk fits in CHUNK_BYTES (at least 1)."""
        per_sample = max(1, self.C * self.K * self.Lq * itemsize)
        return max(1, min(self.N, CHUNK_BYTES // per_sample))

    def padded_buffer(self, nb, dtype, xp):
        """A zeroed flat buffer for nb padded samples, and its (nb, C, Hp, Wp) view.  The tail
        (kw − 1)·d past the last plane is where the last wide row overhangs."""
        flat = xp.zeros(nb * self.C * self.plane + (self.kw - 1) * self.dw, dtype)
        return flat, flat[:nb * self.C * self.plane].reshape(nb, self.C, self.Hp, self.Wp)

    def windows(self, flat, m):
        """For each kernel offset (i, j): the view (m, G, Cg, Ho, Wq) of the padded buffer that
        this offset reads (im2col) or adds to (col2im).  Views, not copies: one strided view
        (kh, kw, m, G, Cg, Ho, Wq) of the whole buffer, indexed per offset (one ``as_strided``
        call per chunk instead of one per offset, which cost ~6 µs each)."""
        xp = get_array_module(flat)
        it = flat.itemsize
        strides = (self.dh * self.Wp * it, self.dw * it, self.C * self.plane * it,
                   self.Cg * self.plane * it, self.plane * it, self.sh * self.Wp * it,
                   self.sw * it)
        shape = (self.kh, self.kw, m, self.G, self.Cg, self.Ho, self.Wq)
        every = xp.lib.stride_tricks.as_strided(flat, shape, strides)
        for i in range(self.kh):
            for j in range(self.kw):
                yield i * self.kw + j, every[i, j]


def _chunks(geo, itemsize):
    nb = geo.chunk(itemsize)
    for n0 in range(0, geo.N, nb):
        yield n0, min(geo.N, n0 + nb)


def _columns(x, geo):
    """Yield (n0, n1, cols) over the batch, cols (m, G, Cg·kh·kw, Ho·Wq) the im2col of x[n0:n1]."""
    xp = get_array_module(x)
    G, Cg, K = geo.G, geo.Cg, geo.K
    if geo.direct:
        for n0, n1 in _chunks(geo, x.itemsize):
            yield n0, n1, x[n0:n1].reshape(n1 - n0, G, Cg, geo.L)
        return
    nb = geo.chunk(x.itemsize)
    flat, planes = geo.padded_buffer(nb, x.dtype, xp)                  # the borders stay 0
    cols = xp.empty((nb, G, Cg, K, geo.Ho, geo.Wq), x.dtype)
    for n0, n1 in _chunks(geo, x.itemsize):
        m = n1 - n0
        planes[:m, :, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W] = x[n0:n1]
        c = cols[:m]
        for k, win in geo.windows(flat, m):
            c[:, :, :, k] = win
        yield n0, n1, c.reshape(m, G, Cg * K, geo.Lq)


def _widened(g, geo):
    """Yield dL/dA[n0:n1] as (m, G, Og, Ho·Wq): with wide rows, copied into a buffer whose extra
    columns stay 0."""
    xp = get_array_module(g)
    G, Og = geo.G, geo.Og
    if not geo.wide:
        for n0, n1 in _chunks(geo, g.itemsize):
            yield g[n0:n1].reshape(n1 - n0, G, Og, geo.L)
        return
    buf = xp.zeros((geo.chunk(g.itemsize), geo.O, geo.Ho, geo.Wq), g.dtype)
    for n0, n1 in _chunks(geo, g.itemsize):
        m = n1 - n0
        buf[:m, :, :, :geo.Wo] = g[n0:n1]
        yield buf[:m].reshape(m, G, Og, geo.Lq)


def conv_forward(x, w, geo, bias=None):
    """A = conv(X, K) (+ bias): one GEMM per group and chunk (straight into A unless rows are
    wide: then the valid columns are copied out, the bias added on the way)."""
    xp = get_array_module(x)
    G, Og = geo.G, geo.Og
    y = xp.empty((geo.N, geo.O, geo.Ho, geo.Wo), x.dtype)
    wg = w.reshape(G, Og, geo.Cg * geo.K)
    ybuf = xp.empty((geo.chunk(x.itemsize), G, Og, geo.Lq), x.dtype) if geo.wide else None
    for n0, n1, cols in _columns(x, geo):
        m = n1 - n0
        if ybuf is None:
            xp.matmul(wg, cols, out=y[n0:n1].reshape(m, G, Og, geo.L))
            if bias is not None:
                y[n0:n1] += bias
            continue
        xp.matmul(wg, cols, out=ybuf[:m])
        valid = ybuf[:m].reshape(m, geo.O, geo.Ho, geo.Wq)[..., :geo.Wo]
        if bias is None:
            y[n0:n1] = valid
        else:
            xp.add(valid, bias, out=y[n0:n1])
    return y


def conv_grad_weight(x, g, geo):
    """dL/dK[g] = Σ_n dL/dA[n, g] @ cols[n, g]ᵀ, the columns rebuilt from X chunk by chunk.

    Computed transposed, cols[n, g] @ dL/dA[n, g]ᵀ → (Cg·kh·kw, Og): the same GEMM with its long
    Ho·Wo contraction, which OpenBLAS runs ~10% faster in this orientation."""
    xp = get_array_module(x)
    G, Og, CgK = geo.G, geo.Og, geo.Cg * geo.K
    g = xp.ascontiguousarray(g)
    dwt = xp.zeros((G, CgK, Og), g.dtype)
    part = xp.empty((geo.chunk(x.itemsize), G, CgK, Og), g.dtype)
    for (n0, n1, cols), gc in zip(_columns(x, geo), _widened(g, geo)):
        m = n1 - n0
        xp.matmul(cols, gc.swapaxes(-1, -2), out=part[:m])
        dwt += part[0] if m == 1 else part[:m].sum(axis=0)
    return dwt.swapaxes(1, 2).reshape(geo.O, geo.Cg, geo.kh, geo.kw)


def conv_grad_input(g, w, geo):
    """dL/dX: dcols = K[g]ᵀ @ dL/dA[n, g], then col2im (one strided add per kernel offset) into
    the padded buffer, whose interior is dL/dX."""
    xp = get_array_module(g)
    G, Og, Cg, K = geo.G, geo.Og, geo.Cg, geo.K
    g = xp.ascontiguousarray(g)
    # contiguous, so that every group's matrix is BLAS-ready even when Og or Cg·kh·kw is 1
    wt = xp.ascontiguousarray(w.reshape(G, Og, Cg * K).swapaxes(1, 2))   # (G, Cg·kh·kw, Og)
    dx = xp.empty((geo.N, geo.C, geo.H, geo.W), g.dtype)
    if geo.direct:
        for n0, n1 in _chunks(geo, g.itemsize):
            m = n1 - n0
            xp.matmul(wt, g[n0:n1].reshape(m, G, Og, geo.L), out=dx[n0:n1].reshape(m, G, Cg, geo.L))
        return dx
    nb = geo.chunk(g.itemsize)
    flat, planes = geo.padded_buffer(nb, g.dtype, xp)
    if Og == 1:
        # One output channel per group (depthwise): each kernel offset's columns are an outer
        # product, formed one offset at a time in a cache-sized buffer (numpy's matmul would not
        # send a contraction of length 1 to BLAS).
        wk = wt.reshape(G, Cg, K)
        tmp = xp.empty((nb, G, Cg, geo.Ho, geo.Wq), g.dtype)
        for (n0, n1), gc in zip(_chunks(geo, g.itemsize), _widened(g, geo)):
            m = n1 - n0
            gc = gc.reshape(m, G, 1, geo.Ho, geo.Wq)
            flat.fill(0)
            for k, win in geo.windows(flat, m):
                xp.multiply(gc, wk[:, :, k, None, None], out=tmp[:m])
                win += tmp[:m]
            dx[n0:n1] = planes[:m, :, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
        return dx
    dcols = xp.empty((nb, G, Cg, K, geo.Ho, geo.Wq), g.dtype)
    for (n0, n1), gc in zip(_chunks(geo, g.itemsize), _widened(g, geo)):
        m = n1 - n0
        dc = dcols[:m]
        xp.matmul(wt, gc, out=dc.reshape(m, G, Cg * K, geo.Lq))
        flat.fill(0)
        for k, win in geo.windows(flat, m):
            win += dc[:, :, :, k]
        dx[n0:n1] = planes[:m, :, geo.pt:geo.pt + geo.H, geo.pl:geo.pl + geo.W]
    return dx


def _tied_bias_grad(g):
    """dL/db for a bias (O,) added at every position: Σ over the batch and the positions."""
    return g.reshape(g.shape[0], g.shape[1], -1).sum(axis=(0, 2))


def _as_2d(a, nd):
    """(N, C, L) → (N, C, 1, L): a 1-D convolution is a 2-D one with a height of 1 (a view)."""
    return a if nd == 2 else a[:, :, None, :]


def _geometry_2d(nd, stride, padding, dilation):
    if nd == 2:
        return tuple(stride), tuple(tuple(p) for p in padding), tuple(dilation)
    return (1, stride[0]), ((0, 0), tuple(padding[0])), (1, dilation[0])


def _check_conv_shapes(op, x, w, groups, channels_of_x):
    """The checks shared by the convolutions: x (N, C, *spatial) and w of the same rank, 1-D
    or 2-D, x's channels as the weight implies, the channels split evenly into the groups."""
    if x.ndim not in (3, 4) or w.ndim != x.ndim:
        raise ValueError(f"{op}: expected an input (N, C, *spatial) and a weight with 1 or 2 "
                         f"spatial dims, both of the same rank; got input {tuple(x.shape)} and "
                         f"weight {tuple(w.shape)}")
    if groups < 1 or w.shape[0] % groups:
        raise ValueError(f"{op}: the weight's first dim ({w.shape[0]}) must split into "
                         f"groups={groups}")
    if x.shape[1] != channels_of_x:
        raise ValueError(f"{op}: expected an input with {channels_of_x} channels for a weight "
                         f"of shape {tuple(w.shape)} and groups={groups}, got input of shape "
                         f"{tuple(x.shape)}")


class Conv(Function):
    """A = conv(X, K) + b for 1-D and 2-D inputs (N, C, *spatial); the equations are in the module
    docstring.  ``padding`` is ((lo, hi), ...) per spatial dim (zeros); ``b`` is tied (O,) or
    untied (O, *out_spatial).  Saves X (for dL/dK) and K (for dL/dX) only when needed."""

    inputs = ("x", "weight", "bias?")

    def check(self, x, w, b=None, *, stride, padding, dilation, groups):
        _check_conv_shapes(self.name, x, w, groups, channels_of_x=w.shape[1] * groups)
        if b is not None and b.shape[:1] != w.shape[:1]:
            raise ValueError(f"{self.name}: expected a bias of {w.shape[0]} values (one per output "
                             f"channel), got shape {tuple(b.shape)}")

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        nd = x.ndim - 2
        s, p, d = _geometry_2d(nd, stride, padding, dilation)
        x2, w2 = _as_2d(x, nd), _as_2d(w, nd)
        geo = Geometry(x2.shape, w2.shape, s, p, d, groups)
        b_ndim = None if b is None else b.ndim                   # tied (O,) or untied (O, *out)
        if b is not None:
            b = b.reshape(b.shape[0], 1, 1) if b.ndim == 1 else b.reshape(b.shape[0], geo.Ho, geo.Wo)
        # the arrays themselves (not the 1-D → 2-D views), so in-place changes are caught
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None, geo=geo,
                               x_shape=x.shape, w_shape=w.shape,
                               b_ndim=b_ndim)
        y = conv_forward(x2, w2, geo, b)
        return y if nd == 2 else y.reshape(y.shape[0], y.shape[1], geo.Wo)

    def backward(self, g):
        x, w = self.saved
        s = self.saved
        geo = s.geo
        g2 = g.reshape(geo.N, geo.O, geo.Ho, geo.Wo)
        need = self.needs_input_grad
        gx = conv_grad_input(g2, _as_2d(w, w.ndim - 2), geo).reshape(s.x_shape) if need[0] else None
        gw = conv_grad_weight(_as_2d(x, x.ndim - 2), g2, geo).reshape(s.w_shape) if need[1] else None
        gb = None
        if need[2]:
            gb = _tied_bias_grad(g) if s.b_ndim == 1 else g.sum(axis=0)
        return gx, gw, gb


class ConvTranspose(Function):
    """Y = conv_transpose(X, K) + b, X (N, C_in, *spatial), K (C_in, C_out/G, *k).

    It is the input-gradient of the convolution that maps Y's shape back to X's with the same
    kernel (C_in playing the conv's out channels), so:

        forward   Y     = grad_input of that conv at dL/dA = X      (GEMM + col2im)
        backward  dL/dX = conv(dL/dY, K)                             (the conv forward)
                  dL/dK = grad_weight of that conv with input dL/dY and output gradient X
                  dL/db = Σ_{n, positions} dL/dY

    ``out_spatial`` is the output size (it already includes output_padding).
    """

    inputs = ("x", "weight", "bias?")

    def check(self, x, w, b=None, *, stride, padding, dilation, groups, out_spatial):
        _check_conv_shapes(self.name, x, w, groups, channels_of_x=w.shape[0])
        if b is not None and tuple(b.shape) != (w.shape[1] * groups,):
            raise ValueError(f"{self.name}: expected a bias of shape ({w.shape[1] * groups},) (one "
                             f"per output channel), got {tuple(b.shape)}")

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups, out_spatial):
        nd = x.ndim - 2
        s, p, d = _geometry_2d(nd, stride, padding, dilation)
        x2, w2 = _as_2d(x, nd), _as_2d(w, nd)
        out_hw = tuple(out_spatial) if nd == 2 else (1, out_spatial[0])
        geo = Geometry((x2.shape[0], w2.shape[1] * groups) + out_hw, w2.shape, s, p, d, groups,
                       out_hw=x2.shape[2:])
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None, geo=geo,
                               x_shape=x.shape, w_shape=w.shape)
        y = conv_grad_input(x2, w2, geo)
        if b is not None:
            y += b.reshape(-1, 1, 1)
        return y if nd == 2 else y.reshape(y.shape[0], y.shape[1], y.shape[3])

    def backward(self, g):
        xp = get_array_module(g)
        x, w = self.saved
        s = self.saved
        geo = s.geo
        g2 = xp.ascontiguousarray(g).reshape(geo.N, geo.C, geo.H, geo.W)
        need = self.needs_input_grad
        gx = conv_forward(g2, _as_2d(w, w.ndim - 2), geo).reshape(s.x_shape) if need[0] else None
        gw = conv_grad_weight(g2, _as_2d(x, x.ndim - 2), geo).reshape(s.w_shape) if need[1] else None
        return gx, gw, (_tied_bias_grad(g) if need[2] else None)


def _pad_index(n, lo, hi, mode, xp):
    """The source index of every position of an axis of size n padded by (lo, hi)."""
    t = xp.arange(-lo, n + hi)
    if mode == "reflect":
        return xp.where(t < 0, -t, xp.where(t >= n, 2 * (n - 1) - t, t))
    if mode == "replicate":
        return xp.clip(t, 0, n - 1)
    return t % n                                                      # circular


class Pad(Function):
    """Non-zero padding of the trailing spatial axes ('reflect', 'replicate' or 'circular').

    Forward gathers: every padded position copies its source, Xp = X[..., idx_h, :][..., idx_w].
    Backward scatters back, dX = Sₕᵀ · dXp · S_w with S the 0/1 selection matrices (S[t, idx[t]] = 1):
    each source element receives the sum of the gradients of all the positions that copied it.
    ``pads`` is ((lo, hi), ...) for the last len(pads) axes.
    """

    inputs = ("x",)

    def forward(self, x, pads, mode):
        xp = get_array_module(x)
        steps = []
        out = x
        for k, (lo, hi) in enumerate(pads):
            axis = x.ndim - len(pads) + k
            n = x.shape[axis]
            idx = _pad_index(n, lo, hi, mode, xp)
            steps.append((axis, idx, n))
            out = xp.take(out, idx, axis=axis)
        self.save_for_backward(steps=tuple(steps))
        return out

    def backward(self, g):
        xp = get_array_module(g)
        for axis, idx, n in self.saved.steps:
            s = xp.zeros((idx.size, n), g.dtype)
            s[xp.arange(idx.size), idx] = 1
            g = xp.matmul(g, s) if axis == g.ndim - 1 else xp.moveaxis(
                xp.matmul(xp.moveaxis(g, axis, -1), s), -1, axis)
        return g
