"""Layer, RMS, group and instance normalisation, fused: one op each, forward and backward.

Every one of them normalises *rows*: the input is viewed as (R, M) — R independent rows of
M values — and each row gets its own statistics.  The affine map that follows is applied on
a second view (P, C, L) of the same memory, with one γ/β value per index c (L = 1 for
LayerNorm/RMSNorm, whose γ/β cover the normalized dims elementwise).

    op            rows R          row length M                affine view (P, C, L)
    LayerNorm     ∏ leading dims  ∏ normalized_shape           (R, M, 1)
    RMSNorm       ∏ leading dims  ∏ normalized_shape           (R, M, 1)
    GroupNorm     N·G             (C/G)·∏ spatial              (N, C, ∏ spatial)
    InstanceNorm  N·C             ∏ spatial                    (N, C, ∏ spatial)

Forward, per row (g = dL/dy, g_x̂ = γ·g, means over the M values of the row):

    centred (Layer/Group/Instance):  μ = mean(x),  σ² = mean((x − μ)²)   (biased),
                                      σ = √(σ² + eps),  x̂ = (x − μ)/σ
    RMS:                              σ = √(mean(x²) + eps),  x̂ = x/σ
    y = γ·x̂ + β

Backward:

    dβ = Σ g,  dγ = Σ g·x̂        (over every position that shares the γ/β entry)
    centred:  dL/dx = (1/σ)·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂))
    RMS:      dL/dx = (1/σ)·(g_x̂ − x̂·mean(g_x̂·x̂))

The mean(g_x̂) term is the path through μ (absent for RMS, which subtracts no mean); the
x̂·mean(g_x̂·x̂) term is the path through σ (∂σ/∂x = x̂/M for both).  Everything is computed in
the input's dtype: float32 stays float32.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module


def _affine_views(a, layout):
    """``a`` on the affine view: (P, C) when L = 1, else (P, C, L)."""
    p, c, l = layout
    return a.reshape(p, c) if l == 1 else a.reshape(p, c, l)


def _col(v, layout):
    """A per-c vector shaped to broadcast against the affine view."""
    return v if layout[2] == 1 else v[:, None]


def _row_sum(a):
    """Σ over axis 1 of an (R, M) array, as a BLAS matrix-vector product (~3x NumPy's sum)."""
    xp = get_array_module(a)
    return xp.matmul(a, xp.ones(a.shape[1], a.dtype))


def _row_dot(a, b):
    """Σ over axis 1 of a·b for (R, M) arrays, without a temporary."""
    xp = get_array_module(a)
    return xp.einsum("ij,ij->i", a, b)


def _sum_pl(a, layout):
    """Σ over P (and L) of an affine-view array: one value per c (BLAS matrix-vector products)."""
    xp = get_array_module(a)
    p, c, l = layout
    if l == 1:
        return xp.matmul(xp.ones(p, a.dtype), a)
    return _row_sum(a.reshape(p * c, l)).reshape(p, c).sum(axis=0)


def _dot_pl(a, b, layout):
    """Σ over P (and L) of a·b on the affine view, without a temporary."""
    xp = get_array_module(a)
    return xp.einsum("pc,pc->c", a, b) if layout[2] == 1 else xp.einsum("pcl,pcl->c", a, b)


class _RowNorm(Function):
    """Inputs: x and, optionally, γ and β (C values each, in any shape).

    Options: ``rows`` (R, M), ``layout`` (P, C, L), ``eps``, ``center`` (False: RMS).
    ``stat_groups`` = (N, C) with ``running_mean``/``running_var`` arrays of shape (C,) updates
    the running statistics in place (instance norm: the per-(n, c) mean and *unbiased*
    variance, averaged over n, enter with weight ``momentum``).
    """

    center = True
    inputs = ("x", "weight?", "bias?")

    def check(self, x, w=None, b=None, *, rows, layout, **options):
        r, m = rows
        if x.size != r * m or r * m != layout[0] * layout[1] * layout[2]:
            raise ValueError(f"{self.name}: an input of shape {tuple(x.shape)} does not split into "
                             f"rows {rows} with the affine layout {layout}")
        for what, p in (("weight", w), ("bias", b)):
            if p is not None and p.size != layout[1]:
                raise ValueError(f"{self.name}: expected a {what} of {layout[1]} values, got shape "
                                 f"{tuple(p.shape)}")

    def forward(self, x, w=None, b=None, *, rows, layout, eps, running_mean=None, running_var=None,
                momentum=0.1, stat_groups=None):
        xp = get_array_module(x)
        r, m = rows
        dt = x.dtype.type
        x2 = x.reshape(r, m)
        inv_m = dt(1.0 / m) if m else dt(0)
        if self.center:
            mean = _row_sum(x2) * inv_m
            xhat = x2 - mean[:, None]                          # x − μ, normalised in place below
            var = _row_dot(xhat, xhat) * inv_m
        else:
            mean = None
            xhat = x2.copy()
            var = _row_dot(x2, x2) * inv_m
        if stat_groups is not None and (running_mean is not None or running_var is not None):
            n, c = stat_groups
            momentum = dt(momentum)
            if running_mean is not None:
                running_mean[...] = (running_mean * (1 - momentum)     # arrays first: momentum is a
                                     + mean.reshape(n, c).mean(axis=0) * momentum)   # NumPy scalar
            if running_var is not None:
                unbiased = var * dt(m / (m - 1)) if m > 1 else var
                running_var[...] = (running_var * (1 - momentum)
                                    + unbiased.reshape(n, c).mean(axis=0) * momentum)
        invstd = (1 / xp.sqrt(var + dt(eps))).astype(x.dtype, copy=False)
        xhat *= invstd[:, None]
        param_shape = w.shape if w is not None else None if b is None else b.shape
        w = None if w is None else w.reshape(-1)                      # (C,) views
        b = None if b is None else b.reshape(-1)
        xa = _affine_views(xhat, layout)
        if w is not None:
            y = xa * _col(w, layout)
            if b is not None:
                y += _col(b, layout)
        elif b is not None:
            y = xa + _col(b, layout)
        else:
            y = xa.copy() if self.needs_input_grad[0] else xa
        need = self.needs_input_grad
        if any(need):
            self.save_for_backward(xhat if need[0] or need[1] else None, invstd, w, rows=rows,
                                   layout=layout, param_shape=param_shape)
        return y.reshape(x.shape)

    def backward(self, g):
        xhat, invstd, w = self.saved
        need = self.needs_input_grad
        layout, (r, m) = self.saved.layout, self.saved.rows
        ga = _affine_views(g, layout)
        grads = [None, None, None]
        if need[0]:
            gx = ga * _col(w, layout) if w is not None else ga.copy()      # g_x̂ = γ·g
            gx = gx.reshape(r, m)
            dt = g.dtype.type
            inv_m = dt(1.0 / m)
            proj = _row_dot(gx, xhat) * inv_m                               # mean(g_x̂·x̂)
            if self.center:
                gx -= (_row_sum(gx) * inv_m)[:, None]                       # path through μ
            gx -= xhat * proj[:, None]                                      # path through σ
            gx *= invstd[:, None]
            grads[0] = gx.reshape(g.shape)
        shape = self.saved.param_shape
        if need[1]:
            grads[1] = _dot_pl(ga, _affine_views(xhat, layout), layout).reshape(shape)
        if need[2]:
            grads[2] = _sum_pl(ga, layout).reshape(shape)
        return tuple(grads)


class LayerNormOp(_RowNorm):
    """y = γ·(x − μ)/√(σ² + eps) + β over the trailing normalized dims (biased σ²).

    dL/dx = (1/σ)·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)),  g_x̂ = γ·g,  σ = √(σ² + eps);
    mean(g_x̂): the path through μ;  x̂·mean(g_x̂·x̂): the path through σ².
    dγ = Σ_rows g·x̂,  dβ = Σ_rows g.
    """

    center = True


class RMSNormOp(_RowNorm):
    """y = γ·x/r with r = √(mean(x²) + eps) over the trailing normalized dims (no β).

    dL/dx = (1/r)·(g_x̂ − x̂·mean(g_x̂·x̂)),  x̂ = x/r,  g_x̂ = γ·g.  No mean term (nothing is
    subtracted); x̂·mean(g_x̂·x̂) is the path through r (∂r/∂x = x̂/M).  dγ = Σ_rows g·x̂.
    """

    center = False


class GroupNormOp(_RowNorm):
    """(N, C, *) split into G groups of C/G channels; μ, σ² per (n, group) over its channels
    and spatial positions; γ, β per channel.  InstanceNorm is the case G = C (plus optional
    running statistics, see ``_RowNorm``).

    dL/dx = (1/σ)·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)) with the means over each group,
    g_x̂ = γ_c·g;  dγ_c = Σ_{n, spatial} g·x̂,  dβ_c = Σ_{n, spatial} g.
    """

    center = True
