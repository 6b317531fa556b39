"""Movement ops: reshape, permute, expand, repeat, cat/stack/split, indexing, gather/scatter.

Their backward moves the gradient back to where each element came from; where an
element was used several times (expand, repeat, integer indexing with repeats)
the gradients are summed (scatter-add).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp
from ._util import unbroadcast


class Reshape(Function):
    """z = x viewed with a new shape;  dz/dx reshapes the gradient back."""

    def forward(self, x, shape=()):
        self.shape = x.shape
        z = x.reshape(shape)
        self.is_view = bool(x.size) and xp.may_share_memory(z, x)    # reshape: a view or a copy
        return z

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    """z = x with its axes reordered;  the gradient is permuted by the inverse order."""

    is_view = True

    def forward(self, x, dims=()):
        self.inverse = tuple(xp.argsort(dims))
        return x.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inverse)


class Expand(Function):
    """z = x broadcast to a larger shape (a view);  the gradient is summed over the stretched axes."""

    is_view = True

    def forward(self, x, shape=()):
        self.shape = x.shape
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape)


class Repeat(Function):
    """z = x tiled ``reps`` times per dim (torch's repeat);  the gradient sums the tiles."""

    def forward(self, x, reps=()):
        self.shape = x.shape
        self.reps = reps
        return xp.tile(x, reps)

    def backward(self, g):
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        split = []
        for r, s in zip(self.reps, shape):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.shape)


class Cat(Function):
    """z = concatenation along ``dim``;  each input gets its slice of the gradient."""

    def forward(self, *xs, dim=0):
        self.dim = dim
        self.bounds = xp.cumsum([0] + [x.shape[dim] for x in xs])
        return xp.concatenate(xs, axis=dim)

    def backward(self, g):
        idx = [slice(None)] * g.ndim
        out = []
        for i, need in enumerate(self.needs_input_grad):
            if need:
                idx[self.dim] = slice(self.bounds[i], self.bounds[i + 1])
                out.append(g[tuple(idx)])
            else:
                out.append(None)
        return tuple(out)


class Stack(Function):
    """z = inputs stacked along a new ``dim``;  each input gets its slice of the gradient."""

    def forward(self, *xs, dim=0):
        self.dim = dim
        return xp.stack(xs, axis=dim)

    def backward(self, g):
        return tuple(xp.take(g, i, axis=self.dim) if need else None
                     for i, need in enumerate(self.needs_input_grad))


class Split(Function):
    """Pieces of x along ``dim`` (views);  the gradient concatenates the pieces' gradients."""

    is_view = True

    def forward(self, x, sizes=(), dim=0):
        self.dim = dim
        bounds = xp.cumsum([0] + list(sizes))
        idx = [slice(None)] * x.ndim
        out = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            idx[dim] = slice(int(a), int(b))
            out.append(x[tuple(idx)])
        return tuple(out)

    def backward(self, *gs):
        return xp.concatenate(gs, axis=self.dim)


def _is_basic(index):
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


class Getitem(Function):
    """z = x[index];  dz/dx scatters the gradient back, summing repeated integer indices."""

    def forward(self, x, index=()):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        self.basic = _is_basic(index)
        self.is_view = self.basic
        if self.basic and not any(i is Ellipsis for i in index):
            return x[index + (Ellipsis,)]     # x[0, 2] as a 0-d *view*, not a NumPy scalar copy
        return x[index]

    def backward(self, g):
        out = xp.zeros(self.shape, g.dtype)
        if self.basic:
            out[self.index] = g
        else:
            xp.add.at(out, self.index, g)
        return out


class IndexPut(Function):
    """z = x with z[index] = v;  dz/dx = g with the written places zeroed, dz/dv = g[index]."""

    def forward(self, x, v, index=()):
        self.index, self.vshape = index, v.shape
        z = x.copy()
        z[index] = v
        return z

    def backward(self, g):
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = g.copy()
            gx[self.index] = 0
        if self.needs_input_grad[1]:
            gv = unbroadcast(g[self.index], self.vshape)
        return gx, gv


class Gather(Function):
    """z[i][j] = x[i][index[i][j]] along ``dim``;  dz/dx scatter-adds g back along ``index``.

    ``index`` may be smaller than x in the other dims (as torch): only x's leading corner is read.
    """

    def forward(self, x, dim=0, index=None):
        self.shape, self.dim, self.index = x.shape, dim, index
        corner = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
        return xp.take_along_axis(x[corner], index, axis=dim)

    def backward(self, g):
        out = xp.zeros(self.shape, g.dtype)
        _scatter_add(out, self.dim, self.index, g)
        return out


def _scatter_add(out, dim, index, src):
    """out[..., index[i,j], ...] += src[i,j] along ``dim`` (index may be smaller than out)."""
    grids = xp.indices(index.shape, sparse=True)
    idx = list(grids)
    idx[dim] = index
    xp.add.at(out, tuple(idx), src[tuple(slice(0, n) for n in index.shape)])


class ScatterAdd(Function):
    """z = x, then z[index along dim] += src;  dz/dx = g, dz/dsrc = gather(g, dim, index)."""

    def forward(self, x, src, dim=0, index=None):
        self.dim, self.index, self.src_shape = dim, index, src.shape
        z = x.copy()
        _scatter_add(z, dim, index, src)
        return z

    def backward(self, g):
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = xp.zeros(self.src_shape, g.dtype)
            corner = tuple(slice(None) if d == self.dim else slice(0, n)
                           for d, n in enumerate(self.index.shape))
            gsrc[tuple(slice(0, n) for n in self.index.shape)] = xp.take_along_axis(
                g[corner], self.index, axis=self.dim)
        return (g if self.needs_input_grad[0] else None), gsrc


class IndexSelect(Function):
    """z = x.take(index, dim);  dz/dx adds each selected row's gradient back (repeats sum)."""

    def forward(self, x, dim=0, index=None):
        self.shape, self.dim, self.index = x.shape, dim, index
        return xp.take(x, index, axis=dim)

    def backward(self, g):
        out = xp.zeros(self.shape, g.dtype)
        idx = [slice(None)] * len(self.shape)
        idx[self.dim] = self.index
        xp.add.at(out, tuple(idx), g)
        return out


class MaskedFill(Function):
    """z = x with ``value`` where mask;  dz/dx = g where not mask, 0 where mask."""

    def forward(self, x, mask=None, value=0.0):
        self.mask = mask
        self.shape = x.shape
        return xp.where(mask, xp.asarray(value, x.dtype), x)

    def backward(self, g):
        return unbroadcast(xp.where(self.mask, xp.zeros((), g.dtype), g), self.shape)


class Triangle(Function):
    """z = tril/triu(x, k);  the gradient keeps the same triangle."""

    def forward(self, x, k=0, upper=False):
        self.k, self.upper = k, upper
        return (xp.triu if upper else xp.tril)(x, k)

    def backward(self, g):
        return (xp.triu if self.upper else xp.tril)(g, self.k)


class Flip(Function):
    """z = x reversed along dims;  the gradient is reversed back."""

    def forward(self, x, dims=()):
        self.dims = dims
        return xp.flip(x, axis=dims).copy()

    def backward(self, g):
        return xp.flip(g, axis=self.dims)


class ConstantPad(Function):
    """z = x padded with a constant;  dz/dx is the un-padded centre of the gradient (negative pads crop)."""

    def forward(self, x, pads=(), value=0.0):
        # pads: ((before, after), ...) per axis of x, possibly negative.
        self.shape = x.shape
        crop = tuple(slice(max(-b, 0), x.shape[i] - max(-a, 0)) for i, (b, a) in enumerate(pads))
        x = x[crop]
        z = xp.pad(x, [(max(b, 0), max(a, 0)) for b, a in pads], constant_values=value)
        self.crop = crop
        self.inner = tuple(slice(max(b, 0), max(b, 0) + n) for (b, _), n in zip(pads, x.shape))
        return z

    def backward(self, g):
        out = xp.zeros(self.shape, g.dtype)
        out[self.crop] = g[self.inner]
        return out


class ViewScatter(Function):
    """The graph of a base tensor after one of its views was changed in place.

    ``positions[j]`` is the flat position in the base of the view's element j (the view op
    replayed on ``arange``).  The base's memory already holds the new values (the view shares
    it), so forward returns it as is.  z = base with z.flat[positions] = view;
    dz/dbase = g with the view's positions zeroed, dz/dview = g.flat[positions].
    """

    def forward(self, base, view, positions=None):
        self.positions = positions
        return base

    def backward(self, g):
        gb = gv = None
        if self.needs_input_grad[0]:
            gb = g.copy()
            gb.reshape(-1)[self.positions.reshape(-1)] = 0
        if self.needs_input_grad[1]:
            gv = g.reshape(-1)[self.positions]
        return gb, gv
