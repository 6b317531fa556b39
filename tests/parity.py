"""The PyTorch-parity harness: run the same lambda through torch and layerwise.

    parity(lambda m, x, w: m.matmul(x, w), rand(3, 4), rand(4, 5))

``m`` is the library module (``torch`` or ``layerwise``), so one lambda states
the op for both.  Float inputs require a gradient (wrap an array in
``const(...)`` to pass it without one).  ``parity`` checks output shapes and
dtypes, the forward values and the gradient of every differentiable input, in
float32 and float64:

* float32: max|a − b| ≤ tol · max|b| over the *whole tensor* (forward 1e-5,
  gradients 1e-4).  An elementwise "abs or rel" test would let tiny or all-zero
  gradients pass unchecked.
* float64: the same with tol ~1e-9: the math itself, not float noise.

``parity_module`` does the same for a layer: it builds the torch module, copies
its parameters into the layerwise module by state_dict, and also compares the
gradient of every parameter by name.
"""
from __future__ import annotations

import numpy as np
import torch

import layerwise as lw

TOL = {"float32": (1e-5, 1e-4), "float64": (1e-9, 1e-9)}
_np_dtypes = {"float32": np.float32, "float64": np.float64}


class const:
    """An input that is passed without requiring a gradient (indices, masks, targets)."""

    def __init__(self, array):
        self.array = np.asarray(array)


def rand(*shape, lo=-2.0, hi=2.0, seed=None):
    """Uniform float64 test data (cast per dtype by the harness)."""
    rng = np.random.default_rng(seed if seed is not None else hash(shape) % 2**32)
    return rng.uniform(lo, hi, shape)


def distinct(*shape, seed=0, spread=3.0):
    """Values far from each other and from 0 (no ties, no kinks) for max/abs/relu checks."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    vals = (rng.permutation(n) + 0.5) / n * 2 * spread - spread
    vals = np.where(np.abs(vals) < 0.05, vals + 0.1, vals)
    return vals.reshape(shape)


def assert_close(actual, expected, tol, what):
    """max|a − b| ≤ tol · max|b| (both as float64 arrays), NaN where torch has NaN."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert (nan_a == nan_b).all(), f"{what}: NaN positions differ from torch's"
    a, b = np.where(nan_b, 0, a), np.where(nan_b, 0, b)
    inf_b = np.isinf(b)
    assert (a[inf_b] == b[inf_b]).all(), f"{what}: infinities differ from torch's"
    a, b = np.where(inf_b, 0, a), np.where(inf_b, 0, b)
    scale = np.abs(b).max() if b.size else 0.0
    err = np.abs(a - b).max() if b.size else 0.0
    bound = tol * scale if scale > 0 else tol
    assert err <= bound, f"{what}: max|Δ| = {err:.3g} > {tol:g} · max|torch| = {bound:.3g}"


def _to_libs(inputs, dtype):
    lw_in, th_in, diff = [], [], []
    for x in inputs:
        if isinstance(x, const):
            arr = x.array
            if arr.dtype.kind == "f":
                arr = arr.astype(_np_dtypes[dtype])
            lw_in.append(lw.tensor(arr))
            th_in.append(torch.tensor(arr))
            diff.append(False)
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            arr = x.astype(_np_dtypes[dtype])
            lw_in.append(lw.tensor(arr, requires_grad=True))
            th_in.append(torch.tensor(arr, requires_grad=True))
            diff.append(True)
        elif isinstance(x, np.ndarray):
            lw_in.append(lw.tensor(x))
            th_in.append(torch.tensor(x))
            diff.append(False)
        else:                                   # Python scalars and other options pass as they are
            lw_in.append(x)
            th_in.append(x)
            diff.append(False)
    return lw_in, th_in, diff


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def _compare(lw_out, th_out, lw_in, th_in, diff, dtype, grad, what, lw_params=(), th_params=(),
             tol=None, seed=0):
    ftol, gtol = tol or TOL[dtype]
    lo, to = _outputs(lw_out), _outputs(th_out)
    assert len(lo) == len(to), f"{what}: {len(lo)} outputs, torch gives {len(to)}"
    for i, (a, b) in enumerate(zip(lo, to)):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, lw.Tensor), f"{what}: output {i} is not a Tensor"
            assert tuple(a.shape) == tuple(b.shape), \
                f"{what}: output {i} shape {tuple(a.shape)} != torch's {tuple(b.shape)}"
            assert _dtype_name(a) == _dtype_name(b), \
                f"{what}: output {i} dtype {_dtype_name(a)} != torch's {_dtype_name(b)}"
            assert_close(a.detach().numpy(), b.detach().numpy(), ftol, f"{what} [{dtype}] output {i}")
        else:
            assert a == b, f"{what}: output {i} {a!r} != torch's {b!r}"
    if not grad:
        return
    rng = np.random.default_rng(seed)
    lw_loss, th_loss = None, None
    for a, b in zip(lo, to):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            w = rng.standard_normal(tuple(b.shape)).astype(_np_dtypes[dtype])
            assert a.requires_grad, f"{what}: output does not require grad, torch's does"
            tl = (b * torch.tensor(w)).sum()
            ll = (a * lw.tensor(w)).sum()
            th_loss = tl if th_loss is None else th_loss + tl
            lw_loss = ll if lw_loss is None else lw_loss + ll
    if th_loss is None:
        return
    th_loss.backward()
    lw_loss.backward()
    for i, (a, b, d) in enumerate(zip(lw_in, th_in, diff)):
        if not d:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy()), f"{what}: input {i} has a gradient, torch's has none"
            continue
        assert a.grad is not None, f"{what}: input {i} got no gradient"
        assert_close(a.grad.numpy(), b.grad.numpy(), gtol, f"{what} [{dtype}] d/d input {i}")
    for (name, a), (tname, b) in zip(lw_params, th_params):
        assert name == tname, f"{what}: parameter order {name} != torch's {tname}"
        if b.grad is None:
            assert a.grad is None, f"{what}: parameter {name} has a gradient, torch's has none"
            continue
        assert a.grad is not None, f"{what}: parameter {name} got no gradient"
        assert_close(a.grad.numpy(), b.grad.numpy(), gtol, f"{what} [{dtype}] d/d {name}")


def parity(fn, *inputs, dtypes=("float32", "float64"), grad=True, tol=None, what=None,
           torch_fn=None):
    """Run ``fn(lib, *inputs)`` with lib = layerwise and torch; compare outputs and gradients."""
    what = what or getattr(fn, "__name__", "op")
    for dtype in dtypes:
        lw_in, th_in, diff = _to_libs(inputs, dtype)
        th_out = (torch_fn or fn)(torch, *th_in)
        lw_out = fn(lw, *lw_in)
        _compare(lw_out, th_out, lw_in, th_in, diff, dtype, grad, what,
                 tol=tol.get(dtype) if isinstance(tol, dict) else tol)


def copy_torch_params(th_module, lw_module):
    """Load the torch module's state_dict into the layerwise module (names must match)."""
    state = {k: lw.tensor(v.detach().numpy().copy()) for k, v in th_module.state_dict().items()}
    lw_module.load_state_dict(state)


def parity_module(make, *inputs, dtypes=("float32", "float64"), grad=True, tol=None, what=None,
                  call=None, train=True):
    """Build ``make(lib)`` in both libraries with torch's weights; compare outputs and all gradients."""
    for dtype in dtypes:
        torch.manual_seed(0)
        th_mod = make(torch).to(getattr(torch, dtype))
        lw_mod = make(lw).to(getattr(lw, dtype))
        copy_torch_params(th_mod, lw_mod)
        th_mod.train(train)
        lw_mod.train(train)
        lw_in, th_in, diff = _to_libs(inputs, dtype)
        call_fn = call or (lambda mod, *xs: mod(*xs))
        th_out = call_fn(th_mod, *th_in)
        lw_out = call_fn(lw_mod, *lw_in)
        _compare(lw_out, th_out, lw_in, th_in, diff, dtype, grad, what or type(th_mod).__name__,
                 list(lw_mod.named_parameters()), list(th_mod.named_parameters()),
                 tol=tol.get(dtype) if isinstance(tol, dict) else tol)
        yield lw_mod, th_mod


def check_module(make, *inputs, **kw):
    """``parity_module`` run to completion (it is a generator so tests can inspect the modules)."""
    for _ in parity_module(make, *inputs, **kw):
        pass


def gradcheck(fn, *inputs, **kw):
    """layerwise's float64 finite-difference gradcheck of ``fn(lw, *inputs)``."""
    lw_in, _, _ = _to_libs(inputs, "float64")
    return lw.autograd.gradcheck(lambda *xs: fn(lw, *xs), lw_in, **kw)
