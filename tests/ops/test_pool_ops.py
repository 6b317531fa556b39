"""Pooling ops (functional forms) against torch: a declarative grid of kernel sizes, strides,
paddings, dilations, ceil_mode (with sizes where it changes the output), count_include_pad,
divisor_override, odd sizes, batch of 1 and unbatched inputs; indices equal to torch's, torch's
tie / NaN / −inf rules, adaptive pools with non-divisible sizes, max-unpool, errors, and float64
gradchecks on tie-free data."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.backend import get_array_module
from layerwise.nn import pooling
from parity import const, distinct, gradcheck, parity, rand


def F(m):
    """The functional namespace of either library (layerwise's lives in nn/pooling.py)."""
    return torch.nn.functional if m is torch else pooling


def _same_indices(fn, x):
    """Run ``fn`` (which returns (values, indices)) in both libraries and compare exactly."""
    a = fn(lw, lw.tensor(x))
    b = fn(torch, torch.tensor(x))
    assert a[1].dtype == lw.int64
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())     # max is exact, NaN included


# ------------------------------------------------------------------------------------ max pool
MAX2D = [
    dict(kernel_size=2),
    dict(kernel_size=2, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),       # 5 → 3, not 4: torch's rule
    dict(kernel_size=3, stride=3, ceil_mode=True),                  # partial last window
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=(3, 2), stride=2, dilation=(2, 1), ceil_mode=True),
    dict(kernel_size=1),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
]
SHAPES2D = [(2, 3, 7, 7), (1, 2, 5, 8), (3, 6, 5)]


@pytest.mark.parametrize("shape", SHAPES2D, ids=str)
@pytest.mark.parametrize("kw", MAX2D, ids=str)
def test_max_pool2d_grid(kw, shape):
    parity(lambda m, x: F(m).max_pool2d(x, **kw), distinct(*shape), what=f"max_pool2d({kw})")
    _same_indices(lambda m, x: F(m).max_pool2d(x, return_indices=True, **kw), distinct(*shape))


MAX1D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=3),
    dict(kernel_size=(4,), stride=(3,), padding=(2,), ceil_mode=True),
]


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)], ids=str)
@pytest.mark.parametrize("kw", MAX1D, ids=str)
def test_max_pool1d_grid(kw, shape):
    parity(lambda m, x: F(m).max_pool1d(x, **kw), distinct(*shape), what=f"max_pool1d({kw})")
    _same_indices(lambda m, x: F(m).max_pool1d(x, return_indices=True, **kw), distinct(*shape))


def test_max_pool_return_indices_outputs_and_grad():
    # values get gradients through the tuple output; indices are int64 and need none
    parity(lambda m, x: F(m).max_pool2d(x, 3, 2, 1, return_indices=True)[0], distinct(2, 2, 6, 6))
    out = pooling.max_pool2d(lw.tensor(distinct(1, 1, 4, 4), requires_grad=True), 2, return_indices=True)
    assert isinstance(out, tuple) and out[0].requires_grad and not out[1].requires_grad


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)], ids=str)
def test_max_pool_ties_follow_torch(kw):
    # many equal values: the kept index is the first maximum in scan order, and the gradient goes
    # there only (overlapping windows accumulate), exactly as torch
    x = np.random.default_rng(1).integers(0, 3, (2, 3, 7, 7)).astype(np.float64)
    _same_indices(lambda m, x: F(m).max_pool2d(x, return_indices=True, **kw), x)
    parity(lambda m, x: F(m).max_pool2d(x, **kw), x, what=f"ties {kw}")
    parity(lambda m, x: F(m).max_pool2d(x, **kw), np.zeros((1, 2, 5, 5)), what=f"all equal {kw}")


def test_max_pool_nan_and_neg_inf_like_torch():
    nan, inf = np.nan, np.inf
    x = np.array([[[[1, nan, nan, 2], [0, 3, nan, 1], [5, 4, 3, 2], [1, 1, 1, 1]]]])
    _same_indices(lambda m, x: F(m).max_pool2d(x, 2, return_indices=True), x)
    _same_indices(lambda m, x: F(m).max_pool2d(x, (1, 4), return_indices=True), x)
    # a window whose real values are all −inf keeps its first *real* position, not a padding one
    y = np.array([[[[-inf, -inf, 1], [-inf, -inf, 2], [3, 4, 5]]]])
    _same_indices(lambda m, x: F(m).max_pool2d(x, 2, stride=1, padding=1, return_indices=True), y)
    _same_indices(lambda m, x: F(m).max_pool2d(x, 3, stride=2, padding=1, dilation=2,
                                               return_indices=True), np.full((1, 1, 6, 6), -inf))


def test_max_pool_integer_input_forward():
    x = np.random.default_rng(2).integers(-50, 50, (2, 3, 6, 7)).astype(np.int64)
    _same_indices(lambda m, x: F(m).max_pool2d(x, 3, 2, 1, return_indices=True), x)


def test_max_pool_no_grad_path_matches():
    x = distinct(2, 3, 8, 8)
    with lw.no_grad():
        a = pooling.max_pool2d(lw.tensor(x, requires_grad=True), 3, 2, 1)
    b = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------------------------ avg pool
AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=3, stride=3, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
    dict(kernel_size=2, divisor_override=3, ceil_mode=True),
]


@pytest.mark.parametrize("shape", SHAPES2D, ids=str)
@pytest.mark.parametrize("kw", AVG2D, ids=str)
def test_avg_pool2d_grid(kw, shape):
    parity(lambda m, x: F(m).avg_pool2d(x, **kw), rand(*shape), what=f"avg_pool2d({kw})")


AVG1D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True),
    dict(kernel_size=(3,), stride=(2,)),
]


@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)], ids=str)
@pytest.mark.parametrize("kw", AVG1D, ids=str)
def test_avg_pool1d_grid(kw, shape):
    parity(lambda m, x: F(m).avg_pool1d(x, **kw), rand(*shape), what=f"avg_pool1d({kw})")


def test_pool_random_trials():
    """Random shapes and arguments (seeded), both pools, against torch."""
    rng = np.random.default_rng(7)
    for trial in range(12):
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        ceil = bool(rng.integers(0, 2))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)),
                 int(rng.integers(5, 10)), int(rng.integers(5, 10)))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        what = f"trial {trial}: k={k} s={s} p={p} d={d} ceil={ceil} shape={shape}"
        parity(lambda m, x: F(m).max_pool2d(x, k, s, p, d, ceil_mode=ceil), distinct(*shape, seed=trial),
               what="max " + what)
        cip = bool(rng.integers(0, 2))
        parity(lambda m, x: F(m).avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip),
               rand(*shape, seed=trial), what="avg " + what)


# ------------------------------------------------------------------------------------ adaptive
ADAPTIVE2D = [((2, 3, 7, 9), (3, 4)), ((2, 3, 7, 9), 1), ((1, 2, 4, 5), (5, 7)),
              ((3, 6, 5), (None, 2)), ((2, 2, 6, 6), 3), ((1, 1, 5, 10), (2, None))]


@pytest.mark.parametrize("shape,out", ADAPTIVE2D, ids=str)
def test_adaptive_pools_2d(shape, out):
    x = distinct(*shape)
    parity(lambda m, x: F(m).adaptive_avg_pool2d(x, out), x, what=f"adaptive_avg {out}")
    parity(lambda m, x: F(m).adaptive_max_pool2d(x, out), x, what=f"adaptive_max {out}")
    _same_indices(lambda m, x: F(m).adaptive_max_pool2d(x, out, return_indices=True), x)


@pytest.mark.parametrize("shape,out", [((2, 3, 9), 4), ((2, 3, 9), (5,)), ((3, 4), 7), ((1, 2, 10), 1)],
                         ids=str)
def test_adaptive_pools_1d(shape, out):
    x = distinct(*shape)
    parity(lambda m, x: F(m).adaptive_avg_pool1d(x, out), x, what=f"adaptive_avg1d {out}")
    parity(lambda m, x: F(m).adaptive_max_pool1d(x, out), x, what=f"adaptive_max1d {out}")
    _same_indices(lambda m, x: F(m).adaptive_max_pool1d(x, out, return_indices=True), x)


def test_adaptive_max_ties_and_nan_like_torch():
    x = np.random.default_rng(3).integers(0, 2, (2, 2, 7, 5)).astype(np.float64)
    _same_indices(lambda m, x: F(m).adaptive_max_pool2d(x, (3, 2), return_indices=True), x)
    parity(lambda m, x: F(m).adaptive_max_pool2d(x, (4, 3)), x)      # overlapping bins, ties
    x[0, 0, 1, 1] = x[0, 0, 2, 0] = np.nan
    _same_indices(lambda m, x: F(m).adaptive_max_pool2d(x, (2, 2), return_indices=True), x)


def test_adaptive_zero_output_size_gives_empty_like_torch():
    x = distinct(1, 2, 4, 4)
    for f in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        a = getattr(pooling, f)(lw.tensor(x), 0)
        b = getattr(torch.nn.functional, f)(torch.tensor(x), 0)
        assert tuple(a.shape) == tuple(b.shape) == (1, 2, 0, 0)


# ------------------------------------------------------------------------------------ unpool
@pytest.mark.parametrize("hw,kw,out", [((8, 6), dict(kernel_size=2), None),
                                       ((9, 7), dict(kernel_size=3, stride=2, padding=1), None),
                                       ((9, 8), dict(kernel_size=2), (9, 8)),
                                       ((9, 9), dict(kernel_size=2), (1, 2, 9, 9)),
                                       ((7, 8), dict(kernel_size=(2, 3), stride=(2, 1)), (7, 8))],
                         ids=str)
def test_max_unpool2d(hw, kw, out):
    x = distinct(1, 2, *hw)
    _, idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    y = distinct(*idx.shape, seed=5)
    parity(lambda m, y, i: F(m).max_unpool2d(y, i, output_size=out, **kw), y, const(idx.numpy()),
           what=f"max_unpool2d({kw}, {out})")
    # unbatched
    parity(lambda m, y, i: F(m).max_unpool2d(y, i, output_size=out, **kw), y[0], const(idx.numpy()[0]))


def test_pool_unpool_roundtrip_keeps_maxima():
    x = lw.tensor(distinct(2, 3, 6, 6), requires_grad=True)
    y, i = pooling.max_pool2d(x, 2, return_indices=True)
    z = pooling.max_unpool2d(y, i, 2)
    kept = z.detach().numpy() != 0
    assert kept.sum() == y.numel()
    np.testing.assert_array_equal(z.detach().numpy()[kept], x.detach().numpy()[kept])


# ------------------------------------------------------------------------------------ gradcheck
def test_gradcheck_pools_float64():
    x = distinct(2, 2, 7, 6)
    gradcheck(lambda m, x: pooling.max_pool2d(x, 3, 2, 1, ceil_mode=True), x)
    gradcheck(lambda m, x: pooling.max_pool2d(x, 2, 1, dilation=2), x)
    gradcheck(lambda m, x: pooling.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    gradcheck(lambda m, x: pooling.avg_pool1d(x, 3, 1, 1), x[0])
    gradcheck(lambda m, x: pooling.max_pool1d(x, 2), x[0])
    gradcheck(lambda m, x: pooling.adaptive_avg_pool2d(x, (3, 4)), x)
    gradcheck(lambda m, x: pooling.adaptive_max_pool2d(x, (4, 4)), x)
    i = lw.tensor(np.array([[[0, 3], [6, 5]]]))
    gradcheck(lambda m, y: pooling.max_unpool2d(y, i, 2), distinct(1, 2, 2))


def test_gradcheck_detects_a_wrong_backward(monkeypatch):
    """The check above can fail: a max-pool backward sending gradient to the wrong offset is caught."""
    from layerwise.ops import pool as pool_ops
    original = pool_ops.MaxPool2dOp.backward

    def shifted(self, g, *rest):
        gx = original(self, g, *rest)
        return get_array_module(gx).roll(gx, 1, axis=-1)

    monkeypatch.setattr(pool_ops.MaxPool2dOp, "backward", shifted)
    with pytest.raises(AssertionError):
        gradcheck(lambda m, x: pooling.max_pool2d(x, 2), distinct(1, 2, 4, 4))


# ------------------------------------------------------------------------------------ errors
def test_errors_name_the_op_and_shapes():
    x = lw.tensor(rand(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r"max_pool2d\(kernel_size=2.*expected input of shape "
                                           r"\(N, C, H, W\) or \(C, H, W\).*got \(4, 4\)"):
        pooling.max_pool2d(lw.tensor(rand(4, 4)), 2)
    with pytest.raises(RuntimeError, match=r"avg_pool1d.*\(N, C, L\) or \(C, L\).*got \(1, 2, 3, 4\)"):
        pooling.avg_pool1d(lw.tensor(rand(1, 2, 3, 4)), 2)
    with pytest.raises(RuntimeError, match="output size 0x0 is too small"):
        pooling.max_pool2d(x, 5)
    with pytest.raises(RuntimeError, match="too small"):
        pooling.avg_pool2d(x, (2, 5))
    with pytest.raises(ValueError, match="padding should be at most half of kernel size"):
        pooling.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match="padding should be at most half of kernel size"):
        pooling.avg_pool1d(lw.tensor(rand(2, 3, 8)), 2, padding=2)
    with pytest.raises(ValueError, match="stride must be greater than zero"):
        pooling.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match="divisor_override"):
        pooling.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="floating point"):
        pooling.avg_pool2d(lw.tensor(np.ones((1, 2, 4, 4), np.int64)), 2)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        pooling.adaptive_avg_pool2d(x, -1)
    with pytest.raises(ValueError, match="output_size"):
        pooling.adaptive_max_pool2d(x, (2, 2, 2))
    with pytest.raises(RuntimeError, match=r"adaptive_avg_pool2d.*got \(3, 0, 4\)"):
        pooling.adaptive_avg_pool2d(lw.tensor(rand(3, 0, 4)), 2)


def test_unpool_errors():
    y = lw.tensor(rand(1, 2, 2, 2))
    bad = lw.tensor(np.full((1, 2, 2, 2), 100, np.int64))
    with pytest.raises(RuntimeError, match="invalid max index 100"):
        pooling.max_unpool2d(y, bad, 2)
    with pytest.raises(ValueError, match=r"invalid output_size .*between 3 and 5"):
        pooling.max_unpool2d(y, lw.tensor(np.zeros((1, 2, 2, 2), np.int64)), 2, output_size=(20, 20))
    with pytest.raises(TypeError, match="int64"):
        pooling.max_unpool2d(y, lw.tensor(np.zeros((1, 2, 2, 2), np.int32)), 2)


def test_edge_inputs_empty_batch_big_kernel_non_contiguous():
    empty = np.zeros((0, 3, 6, 6))
    for f, args in (("max_pool2d", (2,)), ("avg_pool2d", (3, 2, 1)), ("adaptive_max_pool2d", ((2, 3),)),
                    ("adaptive_avg_pool2d", (1,))):
        a = getattr(pooling, f)(lw.tensor(empty, requires_grad=True), *args)
        b = getattr(torch.nn.functional, f)(torch.tensor(empty), *args)
        assert tuple(a.shape) == tuple(b.shape), f
        a.sum().backward()
    # more than 256 kernel offsets (wider index type)
    _same_indices(lambda m, x: F(m).max_pool2d(x, 17, stride=2, padding=8, return_indices=True),
                  distinct(1, 2, 20, 19))
    # a transposed (non-contiguous) input
    xt = np.ascontiguousarray(distinct(2, 3, 8, 7)).transpose(0, 1, 3, 2)
    parity(lambda m, x: F(m).max_pool2d(x, 3, 2, 1), xt)
    parity(lambda m, x: F(m).adaptive_avg_pool2d(x, (3, 5)), xt)
