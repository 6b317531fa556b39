"""Tensor-level functions (``lw.exp``, ``lw.cat``, ...) and the Tensor methods that call them.

This layer turns Python arguments into op options, applies torch's type
promotion and shape checks, and calls the op's ``Function.apply``.  The math,
forward and backward, is in ``layerwise/ops``.
"""
from __future__ import annotations

import builtins
import collections
import numbers

import numpy as np

from . import dtypes as _dt
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S
from .ops import softmax as SM
from .ops._util import normalize_dims
from .tensor import Tensor, _normalize_index, _wrap_dim

_scalar_types = (numbers.Number, np.generic)


def _operand(v, d: _dt.dtype) -> Tensor:
    """A Tensor of dtype ``d`` for a Tensor or Python scalar operand."""
    if isinstance(v, Tensor):
        return v._cast(d)
    if isinstance(v, _scalar_types):
        if d.np.kind in "iu" and isinstance(v, numbers.Integral) and not isinstance(v, bool):
            # an out-of-range Python int wraps into the tensor's integer type, as in torch
            return Tensor._wrap(np.asarray(np.int64(v)).astype(d.np))
        with np.errstate(over="ignore"):            # 1e300 in float32 is inf, silently
            return Tensor._wrap(np.asarray(v, dtype=d.np))
    if isinstance(v, (list, tuple, np.ndarray)):
        raise TypeError(f"expected a Tensor or a number, got {type(v).__name__}; wrap it with "
                        "lw.tensor(...)")
    raise TypeError(f"unsupported operand of type {type(v).__name__}")


def _binary(op, name, a, b, *, float_out=False, **options):
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected at least one Tensor")
    for v in (a, b):
        if not isinstance(v, (Tensor,) + _scalar_types):
            raise TypeError(f"{name}: expected a Tensor or a number, got {type(v).__name__}"
                            + ("; wrap it with lw.tensor(...)" if isinstance(v, (list, tuple, np.ndarray)) else ""))
    d = (_dt.float_result_type if float_out else _dt.result_type)(a, b)
    ta, tb = _operand(a, d), _operand(b, d)
    try:
        np.broadcast_shapes(ta.array.shape, tb.array.shape)
    except ValueError:
        raise RuntimeError(f"{name}: the shapes {tuple(ta.shape)} and {tuple(tb.shape)} cannot be "
                           "broadcast together") from None
    return op.apply(ta, tb, **options)


def _as_float_input(x, name):
    """Unary float math on an integer tensor gives the default float type, as torch does."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return x if x.is_floating_point() else x._cast(_dt.get_default_dtype())


# ---------------------------------------------------------------------- arithmetic
def add(a, b, *, alpha=1):
    return _binary(E.Add, "add", a, b if alpha == 1 else b * alpha)


def sub(a, b, *, alpha=1):
    if builtins.any(isinstance(v, (builtins.bool, np.bool_)) or (isinstance(v, Tensor) and v.array.dtype == bool)
                    for v in (a, b)):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return _binary(E.Sub, "sub", a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return _binary(E.Mul, "mul", a, b)


def div(a, b, *, rounding_mode=None):
    if rounding_mode is None:
        return _binary(E.Div, "div", a, b, float_out=True)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    return _binary(E.DivRounding, "div", a, b, mode=rounding_mode)


true_divide = divide = div


def floor_divide(a, b):
    return div(a, b, rounding_mode="floor")


def remainder(a, b):
    """a − floor(a/b)·b (sign of b, as torch); differentiable in a and b."""
    return a - floor_divide(a, b) * b


def pow(a, b):
    if isinstance(b, _scalar_types) and isinstance(a, Tensor) and not a.is_floating_point() \
            and isinstance(b, numbers.Integral) and b < 0:
        raise RuntimeError("pow: integers to negative integer powers are not allowed")
    return _binary(E.Pow, "pow", a, b)


def neg(x):
    return E.Neg.apply(x)


def matmul(a, b):
    """Matrix product (batched, broadcasting); shapes are checked with a clear message."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul: both operands must be Tensors")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got {a.ndim}D and "
                           f"{b.ndim}D tensors")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        sa, sb = tuple(a.shape), tuple(b.shape)
        raise RuntimeError(f"matmul: shapes {sa} and {sb} cannot be multiplied ({ka} != {kb}: the "
                           "last dim of the first must equal the "
                           + ("first" if b.ndim == 1 else "second-to-last") + " dim of the second)")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} "
                               "cannot be broadcast") from None
    d = _dt.result_type(a, b)
    return L.MatMul.apply(a._cast(d), b._cast(d))


mm = bmm = matmul


def maximum(a, b):
    return _binary(E.Maximum, "maximum", a, b)


def minimum(a, b):
    return _binary(E.Minimum, "minimum", a, b)


def where(condition, a=None, b=None):
    """Elements of ``a`` where ``condition`` else of ``b`` (differentiable in a and b)."""
    if a is None and b is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(condition.array))
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != bool:
        raise RuntimeError(f"where: expected a bool condition, got {cond.dtype}")
    d = _dt.result_type(a, b)
    ta, tb = _operand(a, d), _operand(b, d)
    try:
        shape = np.broadcast_shapes(cond.shape, ta.array.shape, tb.array.shape)
    except ValueError:
        raise RuntimeError(f"where: shapes {cond.shape}, {tuple(ta.shape)} and {tuple(tb.shape)} "
                           "cannot be broadcast together") from None
    if ta.array.shape != shape and ta.requires_grad:
        ta = ta.expand(*shape)
    if tb.array.shape != shape and tb.requires_grad:
        tb = tb.expand(*shape)
    return E.Where.apply(ta, tb, cond=cond)


def clamp(x, min=None, max=None):
    """Clamp into [min, max]; the gradient is 1 inside the range *including* its bounds."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min or max must be given")
    bounds = [v for v in (min, max) if v is not None]
    d = _dt.result_type(x, *bounds)
    if builtins.any(isinstance(v, Tensor) for v in bounds):
        tb = [_operand(v, d) for v in bounds]
        try:
            np.broadcast_shapes(x.array.shape, *(t.array.shape for t in tb))
        except ValueError:
            raise RuntimeError(f"clamp: the shapes of the input {tuple(x.shape)} and of the bounds "
                               f"{[tuple(t.shape) for t in tb]} cannot be broadcast together") from None
        return E.ClampTensor.apply(x._cast(d), *tb, has_lo=min is not None, has_hi=max is not None)
    for v in bounds:
        _dt._category_of_scalar(v)
    return E.Clamp.apply(x._cast(d), lo=min, hi=max)


clip = clamp


def _unary(op, name):
    def f(x):
        return op.apply(_as_float_input(x, name))
    f.__name__ = name
    f.__doc__ = op.__doc__
    return f


exp = _unary(E.Exp, "exp")
log = _unary(E.Log, "log")
log1p = _unary(E.Log1p, "log1p")
sqrt = _unary(E.Sqrt, "sqrt")
rsqrt = _unary(E.Rsqrt, "rsqrt")
sin = _unary(E.Sin, "sin")
cos = _unary(E.Cos, "cos")
tanh = _unary(E.Tanh, "tanh")
sigmoid = _unary(E.Sigmoid, "sigmoid")


def abs(x):
    return E.Abs.apply(x)


def sign(x):
    return E.Sign.apply(x)


def square(x):
    return mul(x, x)


def _rounding(kind, name):
    def f(x):
        if not x.is_floating_point():
            return clone(x)                   # integers are already whole: same dtype, as torch
        return E.Rounding.apply(x, kind=kind)
    f.__name__ = name
    f.__doc__ = f"{name} (piecewise constant: its gradient is 0 almost everywhere)"
    return f


floor = _rounding("floor", "floor")
ceil = _rounding("ceil", "ceil")
trunc = _rounding("trunc", "trunc")


def round(x, *, decimals=0):
    if not x.is_floating_point():
        return clone(x)
    return E.Rounding.apply(x, kind="round", decimals=decimals)


# ---------------------------------------------------------------------- comparisons
def _compare(npf, name):
    def f(a, b):
        if not isinstance(a, Tensor):
            a, b = b, a
            fn = {"lt": np.greater, "le": np.greater_equal, "gt": np.less, "ge": np.less_equal}
            op = fn.get(name, npf)
        else:
            op = npf
        bb = b.array if isinstance(b, Tensor) else b
        try:
            return Tensor._wrap(np.asarray(op(a.array, bb)))
        except ValueError:
            raise RuntimeError(f"{name}: shapes {tuple(a.shape)} and {np.shape(bb)} cannot be "
                               "broadcast together") from None
    f.__name__ = name
    return f


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def logical_not(x):
    return Tensor._wrap(np.logical_not(x.array))


def isnan(x):
    return Tensor._wrap(np.isnan(x.array))


def isinf(x):
    return Tensor._wrap(np.isinf(x.array))


def isfinite(x):
    return Tensor._wrap(np.isfinite(x.array))


def equal(a, b) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.array, b.array))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(np.allclose(a.array, b.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


# ---------------------------------------------------------------------- reductions
def _reduce_dims(x, dim, name):
    return normalize_dims(dim, x.ndim, name, reduce_all_if_empty=True)


def sum(x, dim=None, keepdim=False, *, dtype=None):
    """Σ over ``dim`` (all dims by default); bool and integer tensors sum to int64, as torch."""
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    elif not x.is_floating_point():
        x = x._cast(_dt.int64)
    return R.Sum.apply(x, dims=_reduce_dims(x, dim, "sum"), keepdim=keepdim)


def _require_float(x, name):
    if not x.is_floating_point():
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be a floating "
                           f"point type, got {x.dtype}; convert with .float() first")


def mean(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    _require_float(x, "mean")
    return R.Mean.apply(x, dims=_reduce_dims(x, dim, "mean"), keepdim=keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Σ(x − x̄)²/(n − correction); correction defaults to 1 (Bessel), as torch."""
    if isinstance(dim, builtins.bool):                 # var(False): the old positional unbiased
        dim, unbiased = None, dim
    _require_float(x, "var")
    return R.Var.apply(x, dims=_reduce_dims(x, dim, "var"),
                       correction=_correction(unbiased, correction), keepdim=keepdim)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """√var; the gradient of a constant slice is 0 (as torch), not NaN."""
    if isinstance(dim, builtins.bool):
        dim, unbiased = None, dim
    _require_float(x, "std")
    return R.Std.apply(x, dims=_reduce_dims(x, dim, "std"),
                       correction=_correction(unbiased, correction), keepdim=keepdim)


def prod(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x._cast(_dt.as_dtype(dtype))
    elif not x.is_floating_point():
        x = x._cast(_dt.int64)
    if dim is not None:
        dim = _wrap_dim(dim, x.ndim, "prod") if x.ndim else None     # a 0-d tensor: itself
    return R.Prod.apply(x, dim=dim, keepdim=keepdim)


_MinMax = collections.namedtuple("_MinMax", ["values", "indices"])


def _max_min(x, dim, keepdim, largest, name):
    if isinstance(dim, Tensor):                       # max(a, b) == maximum
        return (maximum if largest else minimum)(x, dim)
    if x.numel() == 0 and dim is None:
        raise RuntimeError(f"{name}(): expected a non-empty tensor when no dim is given")
    if dim is not None and x.ndim == 0:               # a 0-d tensor: (itself, 0), as torch
        _wrap_dim(dim, 0, name)
        x, keepdim = reshape(x, 1), False
    if dim is None:
        return R.AmaxAmin.apply(x, dims=tuple(range(x.ndim)), keepdim=False, largest=largest)
    values, indices = R.MaxMinDim.apply(x, dim=_wrap_dim(dim, x.ndim, name), keepdim=keepdim,
                                        largest=largest)
    return _MinMax(values, indices)


def max(x, dim=None, keepdim=False):
    """max() of all elements (ties share the gradient) or (values, indices) along ``dim``."""
    return _max_min(x, dim, keepdim, True, "max")


def min(x, dim=None, keepdim=False):
    return _max_min(x, dim, keepdim, False, "min")


def amax(x, dim=(), keepdim=False):
    dims = _reduce_dims(x, dim if dim != () else None, "amax")
    return R.AmaxAmin.apply(x, dims=dims, keepdim=keepdim, largest=True)


def amin(x, dim=(), keepdim=False):
    dims = _reduce_dims(x, dim if dim != () else None, "amin")
    return R.AmaxAmin.apply(x, dims=dims, keepdim=keepdim, largest=False)


def _arg_extreme(npf, x, dim, keepdim, name):
    if dim is None:
        i = np.asarray(npf(x.array), np.int64)
        return Tensor._wrap(i.reshape((1,) * x.ndim) if keepdim else i)
    if x.ndim == 0:
        _wrap_dim(dim, 0, name)
        return Tensor._wrap(np.zeros((), np.int64))
    return Tensor._wrap(npf(x.array, axis=_wrap_dim(dim, x.ndim, name), keepdims=keepdim).astype(np.int64))


def argmax(x, dim=None, keepdim=False):
    return _arg_extreme(np.argmax, x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg_extreme(np.argmin, x, dim, keepdim, "argmin")


def logsumexp(x, dim, keepdim=False):
    x = _as_float_input(x, "logsumexp")
    return R.LogSumExp.apply(x, dims=_reduce_dims(x, dim, "logsumexp"), keepdim=keepdim)


def norm(x, p="fro", dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default); 'fro' is p = 2."""
    _require_float(x, "norm")
    p = 2.0 if p in ("fro", None) else float(p)
    return R.Norm.apply(x, p=p, dims=_reduce_dims(x, dim, "norm"), keepdim=keepdim)


def all(x, dim=None, keepdim=False):
    return Tensor._wrap(np.asarray(np.all(x.array, axis=dim, keepdims=keepdim)))


def any(x, dim=None, keepdim=False):
    return Tensor._wrap(np.asarray(np.any(x.array, axis=dim, keepdims=keepdim)))


def count_nonzero(x, dim=None):
    return Tensor._wrap(np.asarray(np.count_nonzero(x.array, axis=dim), np.int64))


def cumsum(x, dim):
    if not x.is_floating_point():
        x = x._cast(_dt.int64)
    if x.ndim == 0:
        _wrap_dim(dim, 0, "cumsum")
        return clone(x)
    return R.Cumsum.apply(x, dim=_wrap_dim(dim, x.ndim, "cumsum"))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along ``dim`` and their indices (differentiable values)."""
    if x.ndim == 0:
        v, i = topk(reshape(x, 1), k, 0, largest, sorted)
        return _MinMax(reshape(v, ()), reshape(i, ())) if k == 1 else _MinMax(v, i)
    dim = _wrap_dim(dim, x.ndim, "topk")
    if not 0 <= k <= x.shape[dim]:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {x.shape[dim]}")
    a = x.array if largest else -x.array
    idx = np.argsort(-a, axis=dim, kind="stable")
    idx = np.take(idx, np.arange(k), axis=dim).astype(np.int64)
    return _MinMax(gather(x, dim, Tensor._wrap(idx)), Tensor._wrap(idx))


def sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        _wrap_dim(dim, 0, "sort")
        return _MinMax(clone(x), Tensor._wrap(np.zeros((), np.int64)))
    dim = _wrap_dim(dim, x.ndim, "sort")
    idx = np.argsort(-x.array if descending else x.array, axis=dim, kind="stable").astype(np.int64)
    return _MinMax(gather(x, dim, Tensor._wrap(idx)), Tensor._wrap(idx))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


def multinomial(probs, num_samples, replacement=False, *, generator=None):
    """Draw category indices from (unnormalised) probabilities, per row."""
    from .random import get_generator
    g = get_generator(generator)
    p = probs.array.astype(np.float64)
    if (p < 0).any() or not np.isfinite(p).all():
        raise RuntimeError("multinomial: probabilities must be finite and non-negative")
    rows = p.reshape(-1, p.shape[-1])
    out = np.stack([g.choice(rows.shape[1], size=num_samples, replace=replacement, p=r / r.sum())
                    for r in rows]).astype(np.int64)
    return Tensor._wrap(out.reshape(p.shape[:-1] + (num_samples,)))


# ---------------------------------------------------------------------- shape
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    shape = _shape_arg(shape)
    try:
        target = np.empty(x.shape, dtype=bool).reshape(shape).shape if x.numel() else \
            np.zeros(x.shape).reshape(shape).shape
    except ValueError:
        raise RuntimeError(f"reshape: shape {list(shape)} is invalid for input of size {x.numel()} "
                           f"(shape {tuple(x.shape)})") from None
    return S.Reshape.apply(x, shape=target)


def view(x, *shape):
    if len(shape) == 1 and isinstance(shape[0], (_dt.dtype, type, np.dtype)):
        raise NotImplementedError("view(dtype) is not supported")
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s = _wrap_dim(start_dim, x.ndim, "flatten")
    e = _wrap_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten: start_dim cannot come after end_dim")
    shape = tuple(x.shape[:s]) + (-1 if x.numel() else int(np.prod(x.shape[s:e + 1])),) + tuple(x.shape[e + 1:])
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    dim = _wrap_dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
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
    dim = _wrap_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(dim, 1)
    return reshape(x, shape)


def permute(x, *dims):
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims don't match: the tensor has {x.ndim} dims but "
                           f"{len(dims)} were given ({list(dims)})")
    dims = tuple(_wrap_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return S.Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = _wrap_dim(dim0, x.ndim, "transpose"), _wrap_dim(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return S.Permute.apply(x, dims=tuple(order))


swapaxes = transpose


def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, -1) if x.ndim == 2 else x


def expand(x, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({x.ndim})")
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
    return S.Expand.apply(x, shape=tuple(target))


def repeat(x, *reps):
    reps = _shape_arg(reps)
    if len(reps) < x.ndim:
        raise RuntimeError("repeat: number of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return S.Repeat.apply(x, reps=reps)


def contiguous(x):
    return x if x.array.flags.c_contiguous else E.Identity.apply(x)


def clone(x):
    return E.Identity.apply(x)


def _tensor_seq(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name}: expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a sequence of Tensors, got {type(t).__name__}")
    d = _dt.result_type(*[t for t in tensors if t.ndim > 0] or tensors)
    return [t._cast(d) for t in tensors]


def cat(tensors, dim=0):
    tensors = _tensor_seq(tensors, "cat")
    # torch's legacy rule: a 1-D empty tensor may be concatenated with anything (it is skipped)
    legacy_empty = [t.ndim == 1 and t.shape[0] == 0 for t in tensors]
    ref = next((t for t, e in zip(tensors, legacy_empty) if not e), tensors[0])
    if ref.ndim != 1:
        tensors = [t for t, e in zip(tensors, legacy_empty) if not e] or tensors[:1]
    dim = _wrap_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or builtins.any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != dim):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {dim}: "
                               f"tensor 0 has shape {tuple(ref.shape)}, tensor {i} has shape {tuple(t.shape)}")
    return S.Cat.apply(*tensors, dim=dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = _tensor_seq(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at entry {i}")
    dim = _wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return S.Stack.apply(*tensors, dim=dim)


def split(x, split_size_or_sections, dim=0):
    dim = _wrap_dim(dim, x.ndim, "split")
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} must sum to the size of dim {dim} ({n})")
    out = S.Split.apply(x, sizes=tuple(sizes), dim=dim)
    return tuple(out) if isinstance(out, tuple) else (out,)


def chunk(x, chunks, dim=0):
    dim = _wrap_dim(dim, x.ndim, "chunk")
    n = x.shape[dim]
    step = -(-n // chunks) if n else 1
    return split(x, step, dim)


def unbind(x, dim=0):
    dim = _wrap_dim(dim, x.ndim, "unbind")
    return tuple(squeeze(p, dim) for p in split(x, 1, dim))


def _index_array(index, name):
    if not isinstance(index, Tensor) or index.array.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected an int64 index tensor, got "
                           f"{index.dtype if isinstance(index, Tensor) else type(index).__name__}")
    return index.array


def _check_range(idx, size, name, dim):
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{name}: index {bad} is out of bounds for dimension {dim} with size {size}")


def gather(x, dim, index):
    idx = _index_array(index, "gather")
    if x.ndim == 0 and idx.ndim == 0:
        return reshape(gather(reshape(x, 1), _wrap_dim(dim, 0, "gather"), reshape(index, 1)), ())
    dim = _wrap_dim(dim, x.ndim, "gather")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index tensor must have the same number of dimensions as input "
                           f"({x.ndim}), got {idx.ndim}")
    for d in range(x.ndim):
        if d != dim and idx.shape[d] > x.shape[d]:
            raise RuntimeError(f"gather: size of index {idx.shape} does not match the input "
                               f"{tuple(x.shape)}: index.size({d}) = {idx.shape[d]} must be <= "
                               f"input.size({d}) = {x.shape[d]} (except in dimension {dim})")
    _check_range(idx, x.shape[dim], "gather", dim)
    return S.Gather.apply(x, dim=dim, index=idx % x.shape[dim] if x.shape[dim] else idx)


def scatter_add(x, dim, index, src):
    dim = _wrap_dim(dim, x.ndim, "scatter_add")
    idx = _index_array(index, "scatter_add")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    if not idx.ndim == x.ndim == src.ndim:
        raise RuntimeError(f"scatter_add: index ({idx.ndim}-D), self ({x.ndim}-D) and src "
                           f"({src.ndim}-D) must have the same number of dimensions")
    if builtins.any(i > s for i, s in zip(idx.shape, src.shape)) or builtins.any(
            i > s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != dim):
        raise RuntimeError(f"scatter_add: expected index {list(idx.shape)} to be no larger than "
                           f"self {list(x.shape)} apart from dimension {dim} and to be no larger "
                           f"than src {list(src.shape)}")
    _check_range(idx, x.shape[dim], "scatter_add", dim)
    d = _dt.result_type(x, src)
    return S.ScatterAdd.apply(x._cast(d), src._cast(d), dim=dim, index=idx)


def index_select(x, dim, index):
    idx = _index_array(index, "index_select")
    if x.ndim == 0:
        _wrap_dim(dim, 0, "index_select")
        if idx.size != 1:
            raise IndexError(f"index_select(): index to a 0-d tensor can have only 1 value, got {idx.size}")
        return reshape(index_select(reshape(x, 1), 0, Tensor._wrap(idx.reshape(1))), ())
    dim = _wrap_dim(dim, x.ndim, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select: index must be 1-D")
    _check_range(idx, x.shape[dim], "index_select", dim)
    return S.IndexSelect.apply(x, dim=dim, index=idx.reshape(-1))


def masked_fill(x, mask, value):
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.array.shape, m.shape)
    except ValueError:
        shape = None
    if shape != x.array.shape:
        raise RuntimeError(f"masked_fill: the mask of shape {m.shape} must be broadcastable to the "
                           f"tensor's shape {tuple(x.shape)}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s)")
        if value.requires_grad:             # differentiable in the value, as torch
            return E.Where.apply(value._cast(x.dtype), x, cond=m)
        value = value.item()
    return S.MaskedFill.apply(x, mask=m, value=value)


def tril(x, diagonal=0):
    return S.Triangle.apply(x, k=diagonal, upper=False)


def triu(x, diagonal=0):
    return S.Triangle.apply(x, k=diagonal, upper=True)


def flip(x, dims):
    return S.Flip.apply(x, dims=normalize_dims(dims, x.ndim, "flip"))


def narrow(x, dim, start, length):
    dim = _wrap_dim(dim, x.ndim, "narrow")
    idx = [slice(None)] * x.ndim
    idx[dim] = slice(start, start + length)
    return x[tuple(idx)]


def getitem(x, index):
    idx = _normalize_index(index, x)
    try:
        return S.Getitem.apply(x, index=idx)
    except IndexError as e:
        raise IndexError(f"invalid index for a tensor of shape {tuple(x.shape)}: {e}") from None


def softmax(x, dim=None, dtype=None):
    x = _as_float_input(x, "softmax") if dtype is None else x._cast(_dt.as_dtype(dtype))
    return SM.Softmax.apply(x, dim=_wrap_dim(-1 if dim is None else dim, x.ndim, "softmax"))


def log_softmax(x, dim=None, dtype=None):
    x = _as_float_input(x, "log_softmax") if dtype is None else x._cast(_dt.as_dtype(dtype))
    return SM.LogSoftmax.apply(x, dim=_wrap_dim(-1 if dim is None else dim, x.ndim, "log_softmax"))


def outer(a, b):
    return mul(reshape(a, -1, 1), reshape(b, 1, -1))


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


# ---------------------------------------------------------------------- Tensor methods
def _rev(f):
    return lambda self, other: f(other, self)


_methods = dict(
    __add__=add, __radd__=_rev(add), __sub__=sub, __rsub__=_rev(sub), __mul__=mul,
    __rmul__=_rev(mul), __truediv__=div, __rtruediv__=_rev(div), __floordiv__=floor_divide,
    __rfloordiv__=_rev(floor_divide), __mod__=remainder, __rmod__=_rev(remainder), __pow__=pow,
    __rpow__=_rev(pow), __matmul__=matmul, __rmatmul__=_rev(matmul), __neg__=neg, __abs__=abs,
    __pos__=lambda self: self,
    __eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge,
    __and__=lambda a, b: _bitwise(np.bitwise_and, a, b), __or__=lambda a, b: _bitwise(np.bitwise_or, a, b),
    __xor__=lambda a, b: _bitwise(np.bitwise_xor, a, b), __invert__=lambda a: Tensor._wrap(~a.array),
    __getitem__=getitem,
    add=add, sub=sub, subtract=sub, mul=mul, multiply=mul, div=div, divide=div, true_divide=div,
    floor_divide=floor_divide, remainder=remainder, pow=pow, neg=neg, negative=neg, matmul=matmul,
    mm=matmul, bmm=matmul, maximum=maximum, minimum=minimum, clamp=clamp, clip=clamp, exp=exp,
    log=log, log1p=log1p, sqrt=sqrt, rsqrt=rsqrt, abs=abs, sign=sign, sin=sin, cos=cos, tanh=tanh,
    sigmoid=sigmoid, square=square, floor=floor, ceil=ceil, trunc=trunc, round=round,
    eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, logical_and=logical_and, logical_or=logical_or,
    logical_xor=logical_xor, logical_not=logical_not, isnan=isnan, isinf=isinf, isfinite=isfinite,
    equal=equal, allclose=allclose,
    sum=sum, mean=mean, var=var, std=std, prod=prod, max=max, min=min, amax=amax, amin=amin,
    argmax=argmax, argmin=argmin, logsumexp=logsumexp, norm=norm, all=all, any=any,
    count_nonzero=count_nonzero, topk=topk, sort=sort, argsort=argsort, cumsum=cumsum,
    reshape=reshape, view=view, flatten=flatten, unflatten=unflatten, squeeze=squeeze,
    unsqueeze=unsqueeze, permute=permute, transpose=transpose, swapaxes=transpose, t=t,
    expand=expand, expand_as=lambda self, other: expand(self, *other.shape),
    view_as=lambda self, other: reshape(self, *other.shape),
    reshape_as=lambda self, other: reshape(self, *other.shape),
    repeat=repeat, contiguous=contiguous, clone=clone, split=split, chunk=chunk, unbind=unbind,
    gather=gather, scatter_add=scatter_add, index_select=index_select, masked_fill=masked_fill,
    tril=tril, triu=triu, flip=flip, narrow=narrow, softmax=softmax, log_softmax=log_softmax,
    dot=dot, outer=outer, where=lambda self, condition, other: where(condition, self, other),
    relu=lambda self: _nn_functional().relu(self),
)
for _name, _f in _methods.items():
    setattr(Tensor, _name, _f)

Tensor.T = property(lambda self: permute(self, *reversed(range(self.ndim))))
Tensor.mT = property(lambda self: transpose(self, -2, -1))


def _bitwise(f, a, b):
    bb = b.array if isinstance(b, Tensor) else b
    if a.array.dtype.kind not in "biu":
        raise TypeError(f"bitwise/logical operators need bool or integer tensors, got {a.dtype}")
    return Tensor._wrap(np.asarray(f(a.array, bb)))


def _nn_functional():
    from .nn import functional
    return functional

multiply, subtract, negative = mul, sub, neg
