"""The fused layer/RMS/group/instance norm ops (through their functionals) against torch: forward
and every gradient in float32 and float64 over a grid of shapes and affine options, the backward
against a float64 finite-difference gradcheck, float32 kept in float32, running-stat updates of
instance_norm, and torch's errors (with the shapes named)."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import normalization
from parity import assert_close, const, gradcheck, parity, rand


def F(m):
    return torch.nn.functional if m is torch else normalization


# ------------------------------------------------------------------------------ layer_norm
LAYER_NORM = [((4, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 2, 3, 4), (2, 3, 4)),
              ((6,), (6,)), ((5, 3), (3,))]


@pytest.mark.parametrize("shape,ns", LAYER_NORM, ids=str)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm(shape, ns, affine):
    x = rand(*shape) * 1.5 + 0.3
    w, b = rand(*ns, seed=1), rand(*ns, seed=2)
    if affine == "both":
        parity(lambda m, x, w, b: F(m).layer_norm(x, ns, w, b), x, w, b)
    elif affine == "weight":
        parity(lambda m, x, w: F(m).layer_norm(x, ns, w), x, w)
    elif affine == "bias":
        parity(lambda m, x, b: F(m).layer_norm(x, ns, bias=b), x, b)
    else:
        parity(lambda m, x: F(m).layer_norm(x, ns, eps=1e-3), x)


def test_layer_norm_float32_with_offset_data():
    """A mean large against the spread: float32 statistics must still match torch's."""
    x = rand(6, 32) * 0.5 + 30.0
    parity(lambda m, x, w, b: F(m).layer_norm(x, (32,), w, b), x, rand(32, seed=1),
           rand(32, seed=2), dtypes=("float32",))


# ------------------------------------------------------------------------------ rms_norm
RMS_NORM = [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((7,), (7,))]


@pytest.mark.parametrize("shape,ns", RMS_NORM, ids=str)
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm(shape, ns, eps, affine):
    x = rand(*shape)
    if affine:
        parity(lambda m, x, w: F(m).rms_norm(x, ns, w, eps=eps), x, rand(*ns, seed=3))
    else:
        parity(lambda m, x: F(m).rms_norm(x, ns, eps=eps), x)


def test_rms_norm_eps_none_is_machine_epsilon():
    """A row of tiny values: eps=None (finfo.eps) and an explicit eps=1e-6 give different
    outputs, and eps=None matches torch in both dtypes."""
    x = np.full((1, 4), 1e-4)
    for dt, eps in (("float32", np.finfo(np.float32).eps), ("float64", np.finfo(np.float64).eps)):
        got = normalization.rms_norm(lw.tensor(x.astype(dt)), (4,)).numpy()
        expect = x / np.sqrt(np.mean(x ** 2) + eps)
        np.testing.assert_allclose(got, expect, rtol=1e-6)
        other = normalization.rms_norm(lw.tensor(x.astype(dt)), (4,), eps=1e-6).numpy()
        assert abs(other - got).max() > 0.1
    parity(lambda m, x: F(m).rms_norm(x, (4,)), x, dtypes=("float32", "float64"))


# ------------------------------------------------------------------------------ group_norm
GROUP_NORM = [((2, 6, 5), 3), ((2, 6, 5), 1), ((2, 6, 5), 6), ((3, 4), 1), ((2, 4, 3, 3), 2),
              ((1, 6, 2, 2, 2), 3)]


@pytest.mark.parametrize("shape,groups", GROUP_NORM, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine):
    x, c = rand(*shape) + 0.5, shape[1]
    if affine:
        parity(lambda m, x, w, b: F(m).group_norm(x, groups, w, b), x, rand(c, seed=1),
               rand(c, seed=2))
    else:
        parity(lambda m, x: F(m).group_norm(x, groups, eps=1e-4), x)


# ------------------------------------------------------------------------------ instance_norm
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 3)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm(shape, affine):
    x, c = rand(*shape) - 0.4, shape[1]
    if affine:
        parity(lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b), x, rand(c, seed=1),
               rand(c, seed=2))
    else:
        parity(lambda m, x: F(m).instance_norm(x), x)


def test_instance_norm_running_stats_update_like_torch():
    for dtype in ("float32", "float64"):
        stats = {}
        for m in (torch, lw):
            rm = m.tensor(rand(3, seed=1).astype(dtype))
            rv = m.tensor(rand(3, lo=0.5, hi=2.0, seed=2).astype(dtype))
            for step in range(3):
                x = m.tensor(rand(4, 3, 5, seed=10 + step).astype(dtype) * (step + 1))
                F(m).instance_norm(x, rm, rv, momentum=0.3)
            stats[m.__name__] = rm.numpy(), rv.numpy()
        tol = 1e-6 if dtype == "float32" else 1e-12
        for a, b in zip(stats["layerwise"], stats["torch"]):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_instance_norm_with_running_stats_in_eval_uses_them():
    rm, rv = const(rand(3, seed=1)), const(rand(3, lo=0.5, hi=2.0, seed=2))
    parity(lambda m, x, rm, rv, w, b: F(m).instance_norm(x, rm, rv, w, b, use_input_stats=False),
           rand(2, 3, 4), rm, rv, rand(3, seed=3), rand(3, seed=4))


# ------------------------------------------------------------------------------ gradcheck
GRADCHECK = [
    ("layer_norm", lambda m, x, w, b: F(m).layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)]),
    ("rms_norm", lambda m, x, w: F(m).rms_norm(x, (4,), w), [(3, 4), (4,)]),
    ("group_norm", lambda m, x, w, b: F(m).group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    ("instance_norm", lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b),
     [(2, 3, 2, 3), (3,), (3,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    assert gradcheck(fn, *[rand(*s, seed=i) for i, s in enumerate(shapes)])


def test_backward_mean_and_variance_terms():
    """The closed form of the docstring, term by term, in float64: with a row of x̂ and upstream
    g_x̂, dx = (g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂))/σ for layer norm, without the mean term for
    RMS norm."""
    x, g = rand(1, 6, seed=5), rand(1, 6, seed=6)
    t = lw.tensor(x, requires_grad=True)
    normalization.layer_norm(t, (6,), eps=0.0).backward(lw.tensor(g))
    sigma = x.std()
    xh = (x - x.mean()) / sigma
    np.testing.assert_allclose(t.grad.numpy(), (g - g.mean() - xh * (g * xh).mean()) / sigma,
                               rtol=1e-12)
    t = lw.tensor(x, requires_grad=True)
    normalization.rms_norm(t, (6,), eps=0.0).backward(lw.tensor(g))
    r = np.sqrt((x ** 2).mean())
    xh = x / r
    np.testing.assert_allclose(t.grad.numpy(), (g - xh * (g * xh).mean()) / r, rtol=1e-12)


def test_float32_stays_float32_and_no_grad_builds_no_graph():
    x = lw.tensor(rand(2, 4, 3).astype(np.float32))
    for y in (normalization.layer_norm(x, (3,)), normalization.rms_norm(x, (3,)),
              normalization.group_norm(x, 2), normalization.instance_norm(x)):
        assert y.dtype == lw.float32 and not y.requires_grad


# ------------------------------------------------------------------------------ errors
def _torch_raises(fn):
    with pytest.raises((RuntimeError, ValueError)):
        fn(torch)


ERRORS = [
    ("layer_norm", lambda m, x: F(m).layer_norm(x, (4,)), (2, 4, 3), r"\(\*, 4\).*\(2, 4, 3\)"),
    ("layer_norm", lambda m, x: F(m).layer_norm(x, ()), (2, 3), r"at least one dim"),
    ("layer_norm", lambda m, x: F(m).layer_norm(x, (3,), m.ones(4)), (2, 3), r"weight .*\(3,\).*\(4,\)"),
    ("rms_norm", lambda m, x: F(m).rms_norm(x, (2, 3)), (2, 3, 2), r"\(\*, 2, 3\).*\(2, 3, 2\)"),
    ("group_norm", lambda m, x: F(m).group_norm(x, 3), (2, 4, 3), r"4 channels.*\(2, 4, 3\).*num_groups=3"),
    ("group_norm", lambda m, x: F(m).group_norm(x, 2), (3,), r"\(N, C, \*\).*\(3,\)"),
    ("group_norm", lambda m, x: F(m).group_norm(x, 2, m.ones(3)), (2, 4), r"weight .*\(4,\).*\(3,\)"),
    ("group_norm", lambda m, x: F(m).group_norm(x, 4), (1, 4, 1), r"more than 1 value"),
    ("instance_norm", lambda m, x: F(m).instance_norm(x), (2, 3, 1), r"more than 1 spatial"),
    ("instance_norm", lambda m, x: F(m).instance_norm(x, m.zeros(2), m.ones(2)), (2, 3, 4),
     r"running_mean .*\(3,\).*\(2,\)"),
]


@pytest.mark.parametrize("name,fn,shape,match", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_like_torch(name, fn, shape, match):
    _torch_raises(lambda m: fn(m, m.tensor(rand(*shape))))
    with pytest.raises((RuntimeError, ValueError), match=match):
        fn(lw, lw.tensor(rand(*shape)))


def test_dtype_mismatch_and_integer_input_errors():
    x = lw.tensor(rand(2, 3).astype(np.float32))
    with pytest.raises(TypeError, match="weight dtype float64 does not match the input dtype float32"):
        normalization.layer_norm(x, (3,), lw.ones(3, dtype=lw.float64))
    with pytest.raises(TypeError, match="floating point"):
        normalization.group_norm(lw.tensor(np.ones((2, 4, 2), np.int64)), 2)


def test_float32_relative_error_is_small_on_large_rows():
    """A 4096-wide row: float32 sums stay accurate (pairwise), compared with a float64 reference."""
    x = rand(3, 4096, seed=9).astype(np.float32) * 3 + 1
    y = normalization.layer_norm(lw.tensor(x), (4096,)).numpy()
    ref = torch.nn.functional.layer_norm(torch.tensor(x, dtype=torch.float64), (4096,)).numpy()
    assert_close(y, ref, 2e-6, "layer_norm float32 vs float64 reference")
