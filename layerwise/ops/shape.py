"""Movement ops: reshape, permute, expand, repeat, cat/stack/split, indexing, gather/scatter.

Their backward moves the gradient back to where each element came from; where an
element was used several times (expand, repeat, integer indexing with repeats)
the gradients are summed (scatter-add).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, scatter_add
from ._util import unbroadcast


class Reshape(Function):
    """z = x viewed with a new shape;  dz/dx reshapes the gradient back."""

    inputs = ("x",)

    def forward(self, x, shape=()):
        xp = get_array_module(x)
        z = x.reshape(shape)
        self.is_view = bool(x.size) and xp.may_share_memory(z, x)    # reshape: a view or a copy
        self.save_for_backward(x_shape=x.shape)
        return z

    def backward(self, g):
        return g.reshape(self.saved.x_shape)


class Permute(Function):
    """z = x with its axes reordered;  the gradient is permuted by the inverse order."""

    inputs = ("x",)
    is_view = True

    def forward(self, x, dims=()):
        inverse = [0] * len(dims)
        for i, d in enumerate(dims):
            inverse[d] = i
        self.save_for_backward(inverse=tuple(inverse))
        return x.transpose(dims)

    def backward(self, g):
        return g.transpose(self.saved.inverse)


class Expand(Function):
    """z = x broadcast to a larger shape (a view);  the gradient is summed over the stretched axes."""

    inputs = ("x",)
    is_view = True

    def forward(self, x, shape=()):
        xp = get_array_module(x)
        self.save_for_backward(x_shape=x.shape)
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.saved.x_shape)


class Repeat(Function):
    """z = x tiled ``reps`` times per dim (torch's repeat);  the gradient sums the tiles."""

    inputs = ("x",)

    def forward(self, x, reps=()):
        xp = get_array_module(x)
        self.save_for_backward(x_shape=x.shape, reps=reps)
        return xp.tile(x, reps)

    def backward(self, g):
        x_shape, reps = self.saved.x_shape, self.saved.reps
        shape = (1,) * (len(reps) - len(x_shape)) + x_shape
        split = []
        for r, s in zip(reps, shape):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(x_shape)


class Cat(Function):
    """z = concatenation along ``dim``;  each input gets its slice of the gradient."""

    inputs = ("*xs",)

    def forward(self, *xs, dim=0):
        xp = get_array_module(*xs)
        bounds = [0]
        for x in xs:
            bounds.append(bounds[-1] + x.shape[dim])
        self.save_for_backward(dim=dim, bounds=tuple(bounds))
        return xp.concatenate(xs, axis=dim)

    def backward(self, g):
        dim, bounds = self.saved.dim, self.saved.bounds
        idx = [slice(None)] * g.ndim
        out = []
        for i, need in enumerate(self.needs_input_grad):
            if need:
                idx[dim] = slice(bounds[i], bounds[i + 1])
                out.append(g[tuple(idx)])
            else:
                out.append(None)
        return tuple(out)


class Stack(Function):
    """z = inputs stacked along a new ``dim``;  each input gets its slice of the gradient."""

    inputs = ("*xs",)

    def forward(self, *xs, dim=0):
        xp = get_array_module(*xs)
        self.save_for_backward(dim=dim)
        return xp.stack(xs, axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        dim = self.saved.dim
        return tuple(xp.take(g, i, axis=dim) if need else None
                     for i, need in enumerate(self.needs_input_grad))


class Split(Function):
    """Pieces of x along ``dim`` (views);  the gradient concatenates the pieces' gradients."""

    inputs = ("x",)
    is_view = True

    def forward(self, x, sizes=(), dim=0):
        self.save_for_backward(dim=dim)
        idx = [slice(None)] * x.ndim
        out = []
        start = 0
        for size in sizes:
            idx[dim] = slice(start, start + size)
            out.append(x[tuple(idx)])
            start += size
        return tuple(out)

    def backward(self, *gs):
        xp = get_array_module(*gs)
        return xp.concatenate(gs, axis=self.saved.dim)


def _is_basic(index):
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


class Getitem(Function):
    """z = x[index];  dz/dx scatters the gradient back, summing repeated integer indices."""

    inputs = ("x",)

    def forward(self, x, index=()):
        basic = _is_basic(index)
        self.is_view = basic
        self.save_for_backward(x_shape=x.shape, index=index, basic=basic)
        if basic and not any(i is Ellipsis for i in index):
            return x[index + (Ellipsis,)]     # x[0, 2] as a 0-d *view*, not a NumPy scalar copy
        return x[index]

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        out = xp.zeros(s.x_shape, g.dtype)
        if s.basic:
            out[s.index] = g
        else:
            scatter_add(out, s.index, g)
        return out


class IndexPut(Function):
    """z = x with z[index] = v;  dz/dx = g with the written places zeroed, dz/dv = g[index]."""

    inputs = ("x", "v")

    def forward(self, x, v, index=()):
        self.save_for_backward(index=index, v_shape=v.shape)
        z = x.copy()
        z[index] = v
        return z

    def backward(self, g):
        index = self.saved.index
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = g.copy()
            gx[index] = 0
        if self.needs_input_grad[1]:
            gv = unbroadcast(g[index], self.saved.v_shape)
        return gx, gv


class Gather(Function):
    """z[i][j] = x[i][index[i][j]] along ``dim``;  dz/dx scatter-adds g back along ``index``.

    ``index`` may be smaller than x in the other dims (as torch): only x's leading corner is read.
    """

    inputs = ("x",)

    def forward(self, x, dim=0, index=None):
        xp = get_array_module(x)
        self.save_for_backward(x_shape=x.shape, dim=dim, index=index)
        corner = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
        return xp.take_along_axis(x[corner], index, axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        out = xp.zeros(s.x_shape, g.dtype)
        _scatter_add(out, s.dim, s.index, g)
        return out


def _scatter_add(out, dim, index, src):
    """out[..., index[i,j], ...] += src[i,j] along ``dim`` (index may be smaller than out)."""
    xp = get_array_module(out)
    grids = xp.indices(index.shape, sparse=True)
    idx = list(grids)
    idx[dim] = index
    scatter_add(out, tuple(idx), src[tuple(slice(0, n) for n in index.shape)])


class ScatterAdd(Function):
    """z = x, then z[index along dim] += src;  dz/dx = g, dz/dsrc = gather(g, dim, index)."""

    inputs = ("x", "src")

    def forward(self, x, src, dim=0, index=None):
        self.save_for_backward(dim=dim, index=index, src_shape=src.shape)
        z = x.copy()
        _scatter_add(z, dim, index, src)
        return z

    def backward(self, g):
        xp = get_array_module(g)
        dim, index = self.saved.dim, self.saved.index
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.saved.src_shape, g.dtype)
            corner = tuple(slice(None) if d == dim else slice(0, n)
                           for d, n in enumerate(index.shape))
            gsrc[tuple(slice(0, n) for n in index.shape)] = xp.take_along_axis(
                g[corner], index, axis=dim)
        return (g if self.needs_input_grad[0] else None), gsrc


class IndexSelect(Function):
    """z = x.take(index, dim);  dz/dx adds each selected row's gradient back (repeats sum)."""

    inputs = ("x",)

    def forward(self, x, dim=0, index=None):
        xp = get_array_module(x)
        self.save_for_backward(x_shape=x.shape, dim=dim, index=index)
        return xp.take(x, index, axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        out = xp.zeros(s.x_shape, g.dtype)
        idx = [slice(None)] * len(s.x_shape)
        idx[s.dim] = s.index
        scatter_add(out, tuple(idx), g)
        return out


class MaskedFill(Function):
    """z = x with ``value`` where mask;  dz/dx = g where not mask, 0 where mask."""

    inputs = ("x",)

    def forward(self, x, mask=None, value=0.0):
        xp = get_array_module(x)
        self.save_for_backward(mask=mask, x_shape=x.shape)
        return xp.where(mask, xp.asarray(value, x.dtype), x)

    def backward(self, g):
        xp = get_array_module(g)
        return unbroadcast(xp.where(self.saved.mask, xp.zeros((), g.dtype), g), self.saved.x_shape)


class Triangle(Function):
    """z = tril/triu(x, k);  the gradient keeps the same triangle."""

    inputs = ("x",)

    def forward(self, x, k=0, upper=False):
        xp = get_array_module(x)
        self.save_for_backward(k=k, upper=upper)
        return (xp.triu if upper else xp.tril)(x, k)

    def backward(self, g):
        xp = get_array_module(g)
        return (xp.triu if self.saved.upper else xp.tril)(g, self.saved.k)


class Flip(Function):
    """z = x reversed along dims;  the gradient is reversed back."""

    inputs = ("x",)

    def forward(self, x, dims=()):
        xp = get_array_module(x)
        self.save_for_backward(dims=dims)
        return xp.flip(x, axis=dims).copy()

    def backward(self, g):
        xp = get_array_module(g)
        return xp.flip(g, axis=self.saved.dims)


class ConstantPad(Function):
    """z = x padded with a constant;  dz/dx is the un-padded centre of the gradient (negative pads crop)."""

    inputs = ("x",)

    def forward(self, x, pads=(), value=0.0):
        # pads: ((before, after), ...) per axis of x, possibly negative.
        xp = get_array_module(x)
        x_shape = x.shape
        crop = tuple(slice(max(-b, 0), x.shape[i] - max(-a, 0)) for i, (b, a) in enumerate(pads))
        x = x[crop]
        z = xp.pad(x, [(max(b, 0), max(a, 0)) for b, a in pads], constant_values=value)
        inner = tuple(slice(max(b, 0), max(b, 0) + n) for (b, _), n in zip(pads, x.shape))
        self.save_for_backward(x_shape=x_shape, crop=crop, inner=inner)
        return z

    def backward(self, g):
        xp = get_array_module(g)
        s = self.saved
        out = xp.zeros(s.x_shape, g.dtype)
        out[s.crop] = g[s.inner]
        return out


class ViewScatter(Function):
    """The graph of a base tensor after one of its views was changed in place.

    ``positions[j]`` is the flat position in the base of the view's element j (the view op
    replayed on ``arange``).  The base's memory already holds the new values (the view shares
    it), so forward returns it as is.  z = base with z.flat[positions] = view;
    dz/dbase = g with the view's positions zeroed, dz/dview = g.flat[positions].
    """

    inputs = ("base", "view")

    def forward(self, base, view, positions=None):
        self.save_for_backward(positions=positions)
        return base

    def backward(self, g):
        positions = self.saved.positions
        gb = gv = None
        if self.needs_input_grad[0]:
            gb = g.copy()
            gb.reshape(-1)[positions.reshape(-1)] = 0
        if self.needs_input_grad[1]:
            gv = g.reshape(-1)[positions]
        return gb, gv
