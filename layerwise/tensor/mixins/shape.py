"""Shape and view functions (``ops/shape.py``): reshape, permute, expand, cat, split, ...

Each function checks its sizes and dims as torch does, with one sentence when they do not
fit, then calls the op (views share memory and the version counter with their base).
``ShapeMixin`` declares them as Tensor methods (``t.view(2, -1)``, ``t.T``).
"""
from __future__ import annotations

import builtins
import math

from ... import dtypes as _dt
from ...backend import host
from ...ops import elementwise as E
from ...ops import shape as S
from ...ops._util import normalize_dims
from ._common import HOST_DTYPE, shape_arg, wrap_dim

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists

_host_empty, _host_zeros = host.empty, host.zeros      # looked up once: reshape is hot


# ---------------------------------------------------------------------- reshaping
def _reshaped_size(shape, target):
    """``target`` with its -1 resolved and checked by NumPy's reshape rules: host shape
    arithmetic on a bool stand-in of ``shape`` (allocated, never written), not on the tensor."""
    size = math.prod(shape)
    stand_in = _host_empty(shape, dtype=_dt.bool_.np) if size else _host_zeros(shape)
    return stand_in.reshape(target).shape


def reshape(x, *shape):
    shape = shape_arg(shape)
    try:
        target = _reshaped_size(x.shape, shape)
    except ValueError:
        raise RuntimeError(f"reshape: shape {list(shape)} is invalid for input of size {x.numel()} "
                           f"(shape {tuple(x.shape)})") from None
    return S.Reshape.apply(x, shape=target)


def view(x, *shape):
    if len(shape) == 1 and isinstance(shape[0], (_dt.dtype, type, HOST_DTYPE)):
        raise NotImplementedError("view(dtype) is not supported")
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s = wrap_dim(start_dim, x.ndim, "flatten")
    e = wrap_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten: start_dim cannot come after end_dim")
    merged = -1 if x.numel() else math.prod(x.shape[s:e + 1])
    return reshape(x, tuple(x.shape[:s]) + (merged,) + tuple(x.shape[e + 1:]))


def unflatten(x, dim, sizes):
    dim = wrap_dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    known = math.prod(s for s in sizes if s != -1)
    if (-1 not in sizes and known != x.shape[dim]) or (-1 in sizes and x.shape[dim] % builtins.max(known, 1)):
        raise RuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size "
                           f"of dim {dim} ({x.shape[dim]}) in the input tensor")
    return reshape(x, tuple(x.shape[:dim]) + sizes + tuple(x.shape[dim + 1:]))


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = normalize_dims(dim, x.ndim, "squeeze")
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    dim = wrap_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(dim, 1)
    return reshape(x, shape)


# ---------------------------------------------------------------------- permuting
def permute(x, *dims):
    dims = shape_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims don't match: the tensor has {x.ndim} dims but "
                           f"{len(dims)} were given ({list(dims)})")
    dims = tuple(wrap_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return S.Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = wrap_dim(dim0, x.ndim, "transpose"), wrap_dim(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return S.Permute.apply(x, dims=tuple(order))


swapaxes = transpose


def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, -1) if x.ndim == 2 else x


# ---------------------------------------------------------------------- expanding
def _expanded_size(x, sizes):
    """The target of ``expand``: -1 keeps a size; only singleton dims may grow."""
    lead = len(sizes) - x.ndim
    target = []
    for i, s in enumerate(sizes):
        cur = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the "
                               f"existing size ({cur}) at non-singleton dimension {i}; target sizes "
                               f"{list(sizes)}, tensor sizes {list(x.shape)}")
        target.append(s)
    return tuple(target)


def expand(x, *sizes):
    sizes = shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({x.ndim})")
    return S.Expand.apply(x, shape=_expanded_size(x, sizes))


def repeat(x, *reps):
    reps = shape_arg(reps)
    if len(reps) < x.ndim:
        raise RuntimeError("repeat: number of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return S.Repeat.apply(x, reps=reps)


def contiguous(x):
    return x if x.array.flags.c_contiguous else E.Identity.apply(x)


# ---------------------------------------------------------------------- joining and splitting
def _tensor_seq(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name}: expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a sequence of Tensors, got {type(t).__name__}")
    d = _dt.result_type(*[t for t in tensors if t.ndim > 0] or tensors)
    return [t._cast(d) for t in tensors]


def _check_cat_sizes(tensors, ref, dim):
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or builtins.any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != dim):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dim}: "
                               f"tensor 0 has shape {tuple(ref.shape)}, tensor {i} has shape {tuple(t.shape)}")


def cat(tensors, dim=0):
    tensors = _tensor_seq(tensors, "cat")
    # torch's legacy rule: a 1-D empty tensor may be concatenated with anything (it is skipped)
    legacy_empty = [t.ndim == 1 and t.shape[0] == 0 for t in tensors]
    ref = next((t for t, e in zip(tensors, legacy_empty) if not e), tensors[0])
    if ref.ndim != 1:
        tensors = [t for t, e in zip(tensors, legacy_empty) if not e] or tensors[:1]
    dim = wrap_dim(dim, ref.ndim, "cat")
    _check_cat_sizes(tensors, ref, dim)
    return S.Cat.apply(*tensors, dim=dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = _tensor_seq(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at entry {i}")
    dim = wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return S.Stack.apply(*tensors, dim=dim)


def _split_sizes(split_size_or_sections, n, dim):
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        return [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    sizes = [int(s) for s in split_size_or_sections]
    if builtins.sum(sizes) != n:
        raise RuntimeError(f"split: sizes {sizes} must sum to the size of dim {dim} ({n})")
    return sizes


def split(x, split_size_or_sections, dim=0):
    dim = wrap_dim(dim, x.ndim, "split")
    sizes = _split_sizes(split_size_or_sections, x.shape[dim], dim)
    out = S.Split.apply(x, sizes=tuple(sizes), dim=dim)
    return tuple(out) if isinstance(out, tuple) else (out,)


def chunk(x, chunks, dim=0):
    dim = wrap_dim(dim, x.ndim, "chunk")
    n = x.shape[dim]
    step = -(-n // chunks) if n else 1
    return split(x, step, dim)


def unbind(x, dim=0):
    dim = wrap_dim(dim, x.ndim, "unbind")
    return tuple(squeeze(p, dim) for p in split(x, 1, dim))


# ---------------------------------------------------------------------- parts
def tril(x, diagonal=0):
    return S.Triangle.apply(x, k=diagonal, upper=False)


def triu(x, diagonal=0):
    return S.Triangle.apply(x, k=diagonal, upper=True)


def flip(x, dims):
    return S.Flip.apply(x, dims=normalize_dims(dims, x.ndim, "flip"))


def narrow(x, dim, start, length):
    dim = wrap_dim(dim, x.ndim, "narrow")
    idx = [slice(None)] * x.ndim
    idx[dim] = slice(start, start + length)
    return x[tuple(idx)]


class ShapeMixin:
    """Tensor methods for shapes and views (the functions of this module)."""

    __slots__ = ()

    reshape = reshape
    view = view
    flatten = flatten
    unflatten = unflatten
    squeeze = squeeze
    unsqueeze = unsqueeze
    permute = permute
    transpose = swapaxes = transpose
    t = t
    expand = expand
    repeat = repeat
    contiguous = contiguous
    split = split
    chunk = chunk
    unbind = unbind
    tril = tril
    triu = triu
    flip = flip
    narrow = narrow

    def expand_as(self, other):
        return expand(self, *other.shape)

    def view_as(self, other):
        return reshape(self, *other.shape)

    def reshape_as(self, other):
        return reshape(self, *other.shape)

    @property
    def T(self):
        """The dims in reverse order (``permute(n-1, ..., 0)``)."""
        return permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        return transpose(self, -2, -1)
