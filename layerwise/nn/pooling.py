"""Pooling layers and their functional forms, as torch.nn / torch.nn.functional.

max_pool1d/2d (return_indices), avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d,
max_unpool2d, and the modules MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d,
AdaptiveMaxPool1d/2d, MaxUnpool2d.  Inputs are batched (N, C, H, W) / (N, C, L) or unbatched
(C, H, W) / (C, L).  Output sizes (floor, or ceil with ceil_mode):

    out = ⌊(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1

with ceil_mode the last window must start inside the input or the left padding.  The math and
the backward passes are in ``layerwise/ops/pool.py``; this file checks arguments and shapes and
names the layer in every error.
"""
from __future__ import annotations

from ..ops.pool import (AdaptiveAvgPool2dOp, AdaptiveMaxPool2dOp, AvgPool2dOp, MaxPool2dOp,
                        MaxUnpool2dOp, pool_output_size)
from ..tensor import Tensor
from .module import Module

# The modules (``from .pooling import *`` in layerwise/nn/__init__.py); the functional forms are
# re-exported by name from layerwise/nn/functional.py (``__functional__``), as in torch, where
# torch.nn has the modules and torch.nn.functional the functions.
__all__ = [
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d", "MaxUnpool2d",
]
__functional__ = [
    "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d",
]


# ---------------------------------------------------------------------------------- arguments
def _tuple(value, n, what, name):
    """An int or a length-n sequence of ints as an n-tuple of ints."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and n > 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}")
        vals = tuple(value)
    else:
        vals = (value,) * n
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return vals


def _geometry(name, n, kernel_size, stride, padding, dilation=1):
    k = _tuple(kernel_size, n, "kernel_size", name)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _tuple(stride, n, "stride", name)
    p = _tuple(padding, n, "padding", name)
    d = _tuple(dilation, n, "dilation", name)
    if any(v <= 0 for v in k):
        raise ValueError(f"{name}: kernel_size must be greater than zero, got {kernel_size!r}")
    if any(v <= 0 for v in s):
        raise ValueError(f"{name}: stride must be greater than zero, got {stride!r}")
    if any(v <= 0 for v in d):
        raise ValueError(f"{name}: dilation must be greater than zero, got {dilation!r}")
    if any(v < 0 for v in p):
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    if any(pv > kv // 2 for pv, kv in zip(p, k)):
        raise ValueError(f"{name}: padding should be at most half of kernel size, got "
                         f"padding={padding!r} and kernel_size={kernel_size!r}")
    return k, s, p, d


_SHAPES = {1: ("(N, C, L) or (C, L)", "L"), 2: ("(N, C, H, W) or (C, H, W)", "H, W")}


def _check_input(name, x, n):
    """A float (or for max-pool, any real) Tensor of rank n+1 or n+2 with non-empty C and spatial dims."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim not in (n + 1, n + 2) or 0 in x.shape[-(n + 1):]:
        raise RuntimeError(f"{name}: expected input of shape {_SHAPES[n][0]} with non-zero C and "
                           f"{_SHAPES[n][1]}, got {tuple(x.shape)}")


def _check_float(name, x):
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point input, got {x.dtype}; convert it "
                        "with .float()")


def _out_sizes(name, x, n, k, s, p, d, ceil_mode):
    sizes = tuple(pool_output_size(x.shape[-n + i], k[i], s[i], p[i], d[i], ceil_mode)
                  for i in range(n))
    if any(o <= 0 for o in sizes):
        raise RuntimeError(f"{name}: given input of shape {tuple(x.shape)}, the calculated output "
                           f"size {'x'.join(map(str, sizes))} is too small (kernel_size={k}, "
                           f"stride={s}, padding={p}, dilation={d}, ceil_mode={ceil_mode})")
    return sizes


def _fname(fn, **kw):
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return f"{fn}({args})"


# ---------------------------------------------------------------------------------- functional
def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, name):
    k, s, p, d = _geometry(name, n, kernel_size, stride, padding, dilation)
    _check_input(name, input, n)
    if input.dtype.name == "bool":
        raise TypeError(f"{name}: bool input is not supported")
    out = _out_sizes(name, input, n, k, s, p, d, ceil_mode)
    x = input
    if n == 1:                       # (…, L) → (…, 1, L)
        x = input.unsqueeze(-2)
        k, s, p, d, out = (1,) + k, (1,) + s, (0,) + p, (1,) + d, (1,) + out
    res = MaxPool2dOp.apply(x, kernel_size=k, stride=s, padding=p, dilation=d, out_hw=out,
                            return_indices=return_indices)
    if n == 1:
        res = tuple(r.squeeze(-2) for r in res) if return_indices else res.squeeze(-2)
    return res


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-d max pooling over (N, C, L) or (C, L); with ``return_indices`` also the indices into L."""
    name = _fname("max_pool1d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, name)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-d max pooling over (N, C, H, W) or (C, H, W); with ``return_indices`` also the flat
    indices into each H·W plane (as torch, usable by max_unpool2d)."""
    name = _fname("max_pool2d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, name)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, name):
    k, s, p, d = _geometry(name, n, kernel_size, stride, padding)
    _check_input(name, input, n)
    _check_float(name, input)
    if divisor_override is not None and (isinstance(divisor_override, bool)
                                         or not isinstance(divisor_override, int)
                                         or divisor_override == 0):
        raise ValueError(f"{name}: divisor_override must be a non-zero int or None, got "
                         f"{divisor_override!r}")
    out = _out_sizes(name, input, n, k, s, p, d, ceil_mode)
    x = input.unsqueeze(-2) if n == 1 else input
    if n == 1:
        k, s, p, out = (1,) + k, (1,) + s, (0,) + p, (1,) + out
    y = AvgPool2dOp.apply(x, kernel_size=k, stride=s, padding=p, out_hw=out,
                          count_include_pad=bool(count_include_pad),
                          divisor_override=divisor_override)
    return y.squeeze(-2) if n == 1 else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-d average pooling over (N, C, L) or (C, L)."""
    name = _fname("avg_pool1d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, name)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-d average pooling over (N, C, H, W) or (C, H, W)."""
    name = _fname("avg_pool2d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, name)


def _adaptive_sizes(name, x, n, output_size):
    if output_size is None and n == 1:
        raise TypeError(f"{name}: output_size must be an int or a tuple of 1 int, got None")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != n:
            raise ValueError(f"{name}: output_size must be an int or a tuple of {n} ints "
                             f"(None keeps the input size), got {output_size!r}")
        sizes = tuple(output_size)
    else:
        sizes = (output_size,) * n
    out = []
    for i, v in enumerate(sizes):
        if v is None:
            v = x.shape[-n + i]
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name}: output_size must hold ints or None, got {output_size!r}")
        if v < 0:
            raise ValueError(f"{name}: elements of output_size must be greater than or equal to 0, "
                             f"got {output_size!r}")
        out.append(v)
    return tuple(out)


def _adaptive(n, input, output_size, kind, return_indices, name):
    _check_input(name, input, n)
    _check_float(name, input)
    out = _adaptive_sizes(name, input, n, output_size)
    x = input.unsqueeze(-2) if n == 1 else input
    out2 = (1,) + out if n == 1 else out
    if kind == "avg":
        res = AdaptiveAvgPool2dOp.apply(x, out_hw=out2)
    else:
        res = AdaptiveMaxPool2dOp.apply(x, out_hw=out2, return_indices=return_indices)
    if n == 1:
        res = tuple(r.squeeze(-2) for r in res) if isinstance(res, tuple) else res.squeeze(-2)
    return res


def adaptive_avg_pool1d(input, output_size):
    """Average over bins [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) of (N, C, L) or (C, L)."""
    return _adaptive(1, input, output_size, "avg", False,
                     _fname("adaptive_avg_pool1d", output_size=output_size))


def adaptive_avg_pool2d(input, output_size):
    """Average over adaptive bins of (N, C, H, W) or (C, H, W); None keeps that input size."""
    return _adaptive(2, input, output_size, "avg", False,
                     _fname("adaptive_avg_pool2d", output_size=output_size))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive(1, input, output_size, "max", return_indices,
                     _fname("adaptive_max_pool1d", output_size=output_size))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive(2, input, output_size, "max", return_indices,
                     _fname("adaptive_max_pool2d", output_size=output_size))


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Scatter (N, C, H, W) or (C, H, W) values to the flat per-plane ``indices`` returned by
    max_pool2d; the rest is zero.  Default output size (H − 1)·stride − 2·padding + kernel;
    ``output_size`` (2 dims, or with the leading dims) may differ from it by less than stride."""
    name = _fname("max_unpool2d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _max_unpool2d(input, indices, kernel_size, stride, padding, output_size, name)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Scatter (N, C, L) or (C, L) values to the ``indices`` returned by max_pool1d; the rest is
    zero.  The 2-d unpooling of a height-1 plane (a flat index into it is the position in L)."""
    name = _fname("max_unpool1d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _max_unpool1d(input, indices, kernel_size, stride, padding, output_size, name)


def _max_unpool1d(input, indices, kernel_size, stride, padding, output_size, name):
    k = _tuple(kernel_size, 1, "kernel_size", name)
    s = _tuple(stride if stride is not None else kernel_size, 1, "stride", name)
    p = _tuple(padding, 1, "padding", name)
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected input of shape (N, C, L) or (C, L), got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    if output_size is not None:
        output_size = (1, int(tuple(output_size)[-1]))
    out = _max_unpool2d(input.unsqueeze(-2),
                        indices.unsqueeze(-2) if isinstance(indices, Tensor) else indices,
                        (1,) + k, (1,) + s, (0,) + p, output_size, name)
    return out.squeeze(-2)


def _max_unpool2d(input, indices, kernel_size, stride, padding, output_size, name):
    k, s, p, _ = _geometry(name, 2, kernel_size, stride, 0)
    p = _tuple(padding, 2, "padding", name)
    _check_input(name, input, 2)
    _check_float(name, input)
    if not isinstance(indices, Tensor) or indices.dtype.name != "int64":
        raise TypeError(f"{name}: expected indices as an int64 Tensor (from max_pool2d with "
                        f"return_indices=True), got {getattr(indices, 'dtype', type(indices).__name__)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{name}: indices of shape {tuple(indices.shape)} do not match the "
                           f"input of shape {tuple(input.shape)}")
    default = tuple((input.shape[-2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    if output_size is None:
        out = default
    else:
        out = tuple(int(v) for v in output_size)
        if len(out) == 4:                               # (N, C, H, W) given: keep (H, W), as torch
            out = out[-2:]
        if len(out) != 2:
            raise ValueError(f"{name}: output_size should be a sequence of 2 (or 4) ints, got "
                             f"{tuple(output_size)!r}")
        for i in range(2):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f"{name}: invalid output_size {out!r} (dim {i} must be between "
                                 f"{lo + 1} and {hi - 1})")
    if any(v <= 0 for v in out):
        raise RuntimeError(f"{name}: the output size {out[0]}x{out[1]} is too small for input of "
                           f"shape {tuple(input.shape)}")
    idx = indices.array
    if idx.size and (idx.min() < 0 or idx.max() >= out[0] * out[1]):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"{name}: found an invalid max index {int(bad)} (output planes are "
                           f"of size {out[0]}x{out[1]})")
    return MaxUnpool2dOp.apply(input, indices=idx, out_hw=out)


# ---------------------------------------------------------------------------------- modules
class _MaxPoolNd(Module):
    _n = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        _geometry(type(self).__name__, self._n, kernel_size, self.stride, padding, dilation)

    def forward(self, input):
        return _max_pool(self._n, input, self.kernel_size, self.stride, self.padding,
                         self.dilation, self.ceil_mode, self.return_indices, repr(self))

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) or (C, L); ``return_indices`` also returns indices into L."""
    _n = 1


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W) or (C, H, W); ``return_indices`` also returns the flat
    indices into each H·W plane."""
    _n = 2


class AvgPool1d(Module):
    """Average over windows of (N, C, L) or (C, L) (stores its arguments as 1-tuples, as torch)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        name = "AvgPool1d"
        self.kernel_size = _tuple(kernel_size, 1, "kernel_size", name)
        self.stride = _tuple(stride if stride is not None else kernel_size, 1, "stride", name)
        self.padding = _tuple(padding, 1, "padding", name)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        _geometry(name, 1, self.kernel_size, self.stride, self.padding)

    def forward(self, input):
        return _avg_pool(1, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, None, repr(self))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Average over windows of (N, C, H, W) or (C, H, W)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        _geometry("AvgPool2d", 2, kernel_size, self.stride, padding)

    def forward(self, input):
        return _avg_pool(2, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, self.divisor_override, repr(self))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    _n, _kind = 2, "avg"

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        if self._kind == "max":
            self.return_indices = return_indices

    def forward(self, input):
        return _adaptive(self._n, input, self.output_size, self._kind,
                         getattr(self, "return_indices", False), repr(self))

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average over the bins [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) of (N, C, L) or (C, L)."""
    _n, _kind = 1, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average over adaptive bins of (N, C, H, W) or (C, H, W); a None size keeps the input's."""
    _n, _kind = 2, "avg"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    """Max over adaptive bins of (N, C, L) or (C, L), optionally with the indices into L."""
    _n, _kind = 1, "max"


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max over adaptive bins of (N, C, H, W) or (C, H, W), optionally with flat H·W indices."""
    _n, _kind = 2, "max"


class MaxUnpool1d(Module):
    """Partial inverse of MaxPool1d: zeros except at the indices it returned."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 1, "kernel_size", "MaxUnpool1d")
        self.stride = _tuple(stride if stride is not None else kernel_size, 1, "stride", "MaxUnpool1d")
        self.padding = _tuple(padding, 1, "padding", "MaxUnpool1d")

    def forward(self, input, indices, output_size=None):
        return _max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                             output_size, repr(self))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(Module):
    """Partial inverse of MaxPool2d: zeros except at the indices it returned."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 2, "kernel_size", "MaxUnpool2d")
        self.stride = _tuple(stride if stride is not None else kernel_size, 2, "stride", "MaxUnpool2d")
        self.padding = _tuple(padding, 2, "padding", "MaxUnpool2d")

    def forward(self, input, indices, output_size=None):
        return _max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                             output_size, repr(self))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
