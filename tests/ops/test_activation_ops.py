"""Activation ops (layerwise/ops/activation.py) and their functional entry points, against torch.

Every op runs through the parity harness (shape, dtype, forward and gradient in float32 and
float64) over a grid of shapes × arguments, and through a float64 finite-difference gradcheck
on kink-free data.  Kinks are tested separately, at the kinks, against torch's conventions.
"""
import math

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.ops import activation as A
from parity import const, distinct, gradcheck, parity, rand


def F(m):
    return m.nn.functional


# (id, fn(m, x), spread of the test data): spread puts data on both sides of every kink/branch.
CASES = [
    ("relu", lambda m, x: F(m).relu(x), 3),
    ("leaky_relu", lambda m, x: F(m).leaky_relu(x), 3),
    ("leaky_relu_0.2", lambda m, x: F(m).leaky_relu(x, 0.2), 3),
    ("leaky_relu_negative_slope", lambda m, x: F(m).leaky_relu(x, negative_slope=-0.5), 3),
    ("elu", lambda m, x: F(m).elu(x), 4),
    ("elu_alpha_0.5", lambda m, x: F(m).elu(x, alpha=0.5), 4),
    ("selu", lambda m, x: F(m).selu(x), 4),
    ("celu", lambda m, x: F(m).celu(x), 4),
    ("celu_alpha_2", lambda m, x: F(m).celu(x, alpha=2.0), 4),
    ("gelu", lambda m, x: F(m).gelu(x), 10),          # reaches |x|/√2 > 6: every erf branch
    ("gelu_narrow", lambda m, x: F(m).gelu(x), 1.2),   # mostly the |x|/√2 < 1 branch
    ("gelu_tanh", lambda m, x: F(m).gelu(x, approximate="tanh"), 5),
    ("silu", lambda m, x: F(m).silu(x), 6),
    ("mish", lambda m, x: F(m).mish(x), 6),
    ("softplus", lambda m, x: F(m).softplus(x), 25),   # crosses the default threshold 20
    ("softplus_beta2_threshold1", lambda m, x: F(m).softplus(x, beta=2.0, threshold=1.0), 3),
    ("softplus_beta_half", lambda m, x: F(m).softplus(x, beta=0.5), 5),
    ("softsign", lambda m, x: F(m).softsign(x), 5),
    ("hardtanh", lambda m, x: F(m).hardtanh(x), 3),
    ("hardtanh_bounds", lambda m, x: F(m).hardtanh(x, min_val=-0.7, max_val=1.3), 3),
    ("relu6", lambda m, x: F(m).relu6(x), 7.3),
    ("hardsigmoid", lambda m, x: F(m).hardsigmoid(x), 5),
    ("hardswish", lambda m, x: F(m).hardswish(x), 5),
    ("logsigmoid", lambda m, x: F(m).logsigmoid(x), 30),
    ("threshold", lambda m, x: F(m).threshold(x, 0.37, -2.0), 3),
    ("sigmoid", lambda m, x: F(m).sigmoid(x), 6),
    ("tanh", lambda m, x: F(m).tanh(x), 3),
]
SHAPES = [(7,), (3, 5), (2, 3, 4)]
IDS = [c[0] for c in CASES]
# torch's float64 hardsigmoid backward multiplies by a float32 1/6 (0.16666667163...): a 3e-8
# relative error that layerwise does not copy (it uses the exact 1/6; gradcheck confirms).
TOL = {"hardsigmoid": {"float64": (1e-9, 5e-8)}}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_parity(name, fn, spread, shape):
    parity(fn, distinct(*shape, seed=len(shape), spread=spread), what=name, tol=TOL.get(name))


@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_gradcheck(name, fn, spread):
    assert gradcheck(fn, distinct(4, 6, seed=1, spread=spread))


@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_scalar_and_empty_inputs(name, fn, spread):
    parity(fn, np.array(0.8), what=name + " 0-d", tol=TOL.get(name))
    parity(fn, np.zeros((0, 3)), what=name + " empty")


# ---------------------------------------------------------------------- kinks
KINKS = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, -0.7, 1.3, 0.37, 20.0, -20.0, 2.5])


@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_gradient_at_kinks_follows_torch(name, fn, spread):
    parity(fn, KINKS, what=name + " at kinks", tol=TOL.get(name))


def _grad(f, values):
    x = lw.tensor(np.array(values, np.float64), requires_grad=True)
    f(x).sum().backward()
    return x.grad.numpy().tolist()


def test_kink_conventions_explicitly():
    Fl = lw.nn.functional
    assert _grad(Fl.relu, [0.0, 1.0]) == [0.0, 1.0]
    assert _grad(lambda x: Fl.leaky_relu(x, 0.1), [0.0]) == [0.1]
    assert _grad(Fl.hardtanh, [-1.0, 1.0, 0.5]) == [0.0, 0.0, 1.0]    # 0 *at* the bounds
    assert _grad(lambda x: lw.clamp(x, -1.0, 1.0), [-1.0, 1.0]) == [1.0, 1.0]   # unlike clamp
    assert _grad(Fl.relu6, [0.0, 6.0, 3.0]) == [0.0, 0.0, 1.0]
    assert _grad(Fl.hardsigmoid, [-3.0, 3.0, 0.0]) == [0.0, 0.0, 1 / 6]
    assert _grad(Fl.hardswish, [-3.0, 3.0, 0.0]) == [0.0, 1.0, 0.5]    # outer branches at ±3
    assert _grad(lambda x: Fl.threshold(x, 0.5, 9.0), [0.5, 0.6]) == [0.0, 1.0]
    assert _grad(Fl.elu, [0.0]) == [1.0]                                # α·e⁰ on the x ≤ 0 side


# ---------------------------------------------------------------------- stability and dtypes
EXTREMES = np.array([-1e4, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e4])


@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_extreme_inputs_stay_finite_and_match_torch(name, fn, spread):
    parity(fn, EXTREMES, what=name + " extremes", tol=TOL.get(name))
    x = lw.tensor(EXTREMES.astype(np.float32), requires_grad=True)
    y = fn(lw, x)
    y.sum().backward()
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()


NON_FINITE = [np.inf, -np.inf, np.nan, 1.5, -1.5, 0.0]
# Where torch's answer is an artifact, layerwise keeps the limit: torch's float32 gelu(inf) is
# NaN (not inf), and its composite softsign has a NaN gradient at ±inf (not 0).
NOT_LIKE_TORCH = {"gelu": [np.inf], "gelu_narrow": [np.inf], "softsign": [np.inf, -np.inf]}


@pytest.mark.parametrize("name,fn,spread", CASES, ids=IDS)
def test_non_finite_inputs_follow_torch(name, fn, spread):
    x = np.array([v for v in NON_FINITE if v not in NOT_LIKE_TORCH.get(name, [])])
    parity(fn, x, what=name + " inf/nan", tol=TOL.get(name))


def test_non_finite_limits():
    Fl = lw.nn.functional
    assert Fl.gelu(lw.tensor([np.inf])).tolist() == [np.inf]
    assert _grad(Fl.softsign, [np.inf, -np.inf]) == [0.0, 0.0]


TAILS = np.array([-700.0, -300.0, -40.0, -30.0, -20.0, -5.0, 5.0, 20.0, 30.0, 40.0, 300.0])


@pytest.mark.parametrize("name", ["logsigmoid", "softplus", "elu", "selu", "celu", "silu", "mish",
                                  "gelu", "sigmoid", "tanh", "softsign"])
def test_tails_are_accurate_elementwise(name):
    """Far out, values and gradients are tiny next to the tensor's largest: the whole-tensor
    parity tolerance cannot see them, so compare each element relative to itself."""
    got = []
    for m in (torch, lw):
        x = m.tensor(TAILS, requires_grad=True)
        y = getattr(F(m), name)(x)
        y.sum().backward()
        got.append((y.detach().numpy(), x.grad.numpy()))
    for mine, ref in zip(got[1], got[0]):
        scale = np.where(ref != 0, np.abs(ref), 1.0)
        assert (np.abs(mine - ref) / scale).max() <= 1e-13, (mine, ref)


# Each fused op called directly on float32 arrays: forward and backward must stay float32
# (the engine would silently cast a float64 gradient back, hiding a slow float64 backward).
OPS = [(A.ReLU, {}), (A.LeakyReLU, {"negative_slope": 0.2}), (A.ELU, {"alpha": 0.5}),
       (A.ELU, {"alpha": A.SELU_ALPHA, "scale": A.SELU_SCALE}),
       (A.ELU, {"alpha": 2.0, "input_scale": 0.5}), (A.GELU, {}), (A.GELU, {"approximate": "tanh"}),
       (A.SiLU, {}), (A.Mish, {}), (A.Softplus, {"beta": 2.0, "threshold": 1.0}), (A.Softsign, {}),
       (A.Hardtanh, {"min_val": -0.7, "max_val": 1.3}), (A.Hardsigmoid, {}), (A.Hardswish, {}),
       (A.LogSigmoid, {}), (A.Threshold, {"threshold": 0.3, "value": -2.5})]


@pytest.mark.parametrize("op,opts", OPS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_float32_stays_float32_in_forward_and_backward(op, opts):
    x = distinct(3, 4, spread=5).astype(np.float32)
    fn = op()
    fn.needs_input_grad = (True,)
    y = fn.forward(x, **opts)
    g = fn.backward(np.ones_like(y))
    assert y.dtype == np.float32 and g.dtype == np.float32, (y.dtype, g.dtype)


def test_prelu_op_stays_float32():
    fn = A.PReLU()
    fn.needs_input_grad = (True, True)
    y = fn.forward(distinct(2, 3, 4).astype(np.float32), np.full(3, 0.25, np.float32))
    gx, ga = fn.backward(np.ones_like(y))
    assert (y.dtype, gx.dtype, ga.dtype) == (np.float32,) * 3


def test_integer_inputs_follow_torch():
    ints = np.array([-3, 0, 2, 7])
    for fn in (lambda m, x: F(m).relu(x), lambda m, x: F(m).relu6(x),
               lambda m, x: F(m).hardtanh(x), lambda m, x: F(m).threshold(x, 1, 5),
               lambda m, x: F(m).softsign(x), lambda m, x: F(m).sigmoid(x)):
        parity(fn, ints)
    for name in ("gelu", "elu", "silu", "leaky_relu", "softplus", "hardswish", "mish"):
        with pytest.raises(TypeError, match=f"{name}: expected a floating point input, got int64"):
            getattr(lw.nn.functional, name)(lw.tensor(ints))


# ---------------------------------------------------------------------- in place
INPLACE = [
    ("relu", lambda m, x: F(m).relu(x * 1, inplace=True)),
    ("relu_", lambda m, x: F(m).relu_(x * 1)),
    ("leaky_relu", lambda m, x: F(m).leaky_relu(x * 1, 0.3, inplace=True)),
    ("elu", lambda m, x: F(m).elu(x * 1, inplace=True)),
    ("hardtanh_", lambda m, x: F(m).hardtanh_(x * 1, -0.5, 0.5)),
    ("threshold", lambda m, x: F(m).threshold(x * 1, 0.37, 4.0, inplace=True)),
    ("threshold_", lambda m, x: F(m).threshold_(x * 1, 0.37, 4.0)),
    ("elu_", lambda m, x: F(m).elu_(x * 1, 0.5)),
    ("leaky_relu_", lambda m, x: F(m).leaky_relu_(x * 1, 0.2)),
    ("silu", lambda m, x: F(m).silu(x * 1, inplace=True)),
    ("hardswish", lambda m, x: F(m).hardswish(x * 1, inplace=True)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_matches_torch(name, fn):
    parity(fn, distinct(3, 4, spread=3), what=name + " inplace")


def test_inplace_writes_into_the_input():
    x = lw.tensor([-1.0, 2.0])
    out = lw.nn.functional.relu(x, inplace=True)
    assert out is x and x.tolist() == [0.0, 2.0]
    y = lw.tensor([-1.0, 2.0])
    lw.nn.functional.relu(y)
    assert y.tolist() == [-1.0, 2.0]


# ---------------------------------------------------------------------- prelu
@pytest.mark.parametrize("x_shape,w_shape", [
    ((2, 3), (3,)), ((2, 3, 4, 5), (3,)), ((2, 3, 4), (1,)), ((2, 3), ()), ((4,), (1,)),
    ((), (1,)), ((5, 1, 2), (1,)),
], ids=str)
def test_prelu_parity_and_gradcheck(x_shape, w_shape):
    x = distinct(*x_shape, seed=2) if x_shape else np.array(-0.7)
    w = rand(*w_shape, lo=-0.5, hi=0.5, seed=3)
    parity(lambda m, x, w: F(m).prelu(x, w), x, w)
    assert gradcheck(lambda m, x, w: F(m).prelu(x, w), x, w)


def test_prelu_random_shapes():
    rng = np.random.default_rng(7)
    for _ in range(5):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(2, 5)))
        w = rand(shape[1], seed=int(rng.integers(100)))
        parity(lambda m, x, w: F(m).prelu(x, w), distinct(*shape, seed=1), w, what=f"prelu {shape}")


def test_prelu_errors():
    Fl = lw.nn.functional
    with pytest.raises(RuntimeError, match=r"weight has 4 parameters but the input of shape "
                                           r"\(2, 3\) has 3 channels"):
        Fl.prelu(lw.randn(2, 3), lw.ones(4))
    with pytest.raises(RuntimeError, match=r"weight has 3 parameters .* has 1 channels"):
        Fl.prelu(lw.randn(3), lw.ones(3))
    with pytest.raises(RuntimeError, match="scalar or 1-D"):
        Fl.prelu(lw.randn(2, 3), lw.ones(3, 1))
    with pytest.raises(TypeError, match="weight dtype float64 does not match the input dtype float32"):
        Fl.prelu(lw.randn(2, 3), lw.ones(3, dtype=lw.float64))


# ---------------------------------------------------------------------- erf
def test_erf_is_float64_accurate():
    x = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 6, 2000),
                        -np.geomspace(1e-300, 6, 2000), [0.999999, 1.0, 1.000001, 5.99, 6.0, 6.1]])
    ref = np.array([math.erf(v) for v in x])
    got = A.erf_array(x)
    nz = ref != 0
    rel = np.abs(got[nz] - ref[nz]) / np.abs(ref[nz])
    assert rel.max() <= 2 * np.finfo(np.float64).eps, rel.max()
    assert (got[~nz] == 0).all()


def test_erf_float32_special_values_and_layouts():
    x = np.linspace(-8, 8, 4001).astype(np.float32)
    got = A.erf_array(x)
    assert got.dtype == np.float32
    assert np.abs(got - torch.erf(torch.tensor(x)).numpy()).max() <= 2 * np.finfo(np.float32).eps
    special = A.erf_array(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300, -1e300]))
    assert special[:2].tolist() == [1.0, -1.0] and np.isnan(special[2])
    assert np.signbit(special[4]) and not np.signbit(special[3])
    assert special[5:].tolist() == [1.0, -1.0]
    grid = np.linspace(-4, 4, 60).reshape(6, 10)
    assert np.array_equal(A.erf_array(grid.T), A.erf_array(grid).T)   # non-contiguous input
    assert A.erf_array(np.array(2.0)) == pytest.approx(math.erf(2.0), rel=1e-15)
    assert A.erf_array(np.array(2.0)).shape == ()


def test_erf_float32_within_2_ulp_including_tiny_inputs():
    """The float32 formula, relative to each element: dense in [−10, 10] and down to denormals
    (where x² underflows and erf(x) = 2x/√π takes over); GELU's erf(x/√2) path too."""
    mag = np.concatenate([np.linspace(0, 10, 40001), np.geomspace(1e-44, 1, 4000)]).astype(np.float32)
    x = np.concatenate([mag, -mag])
    ref = np.array([math.erf(float(v)) for v in x])
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    ulp = np.where(np.abs(ref.astype(np.float32)) == 1, 2.0 ** -24, ulp)
    got = A.erf_array(x)
    assert got.dtype == np.float32 and (np.signbit(got) == np.signbit(x)).all()
    assert (np.abs(got - ref) / ulp).max() <= 2.0
    gelu = A.GELU()
    gelu.forward(x)
    cdf = gelu.saved[1]                                 # Φ(x) = (1 + erf(x/√2))/2
    ref_cdf = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x])
    assert cdf.dtype == np.float32 and np.abs(cdf - ref_cdf).max() <= np.finfo(np.float32).eps


# ---------------------------------------------------------------------- softmax family
@pytest.mark.parametrize("fname", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(fname, dim):
    fn = lambda m, x: getattr(F(m), fname)(x, dim=dim)  # noqa: E731
    parity(fn, rand(3, 4, 5), what=f"{fname} dim={dim}")
    assert gradcheck(fn, rand(3, 4))


@pytest.mark.parametrize("fname", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4), (2, 3, 4, 2)], ids=str)
def test_softmax_implicit_dim_warns_and_uses_torchs_legacy_dim(fname, shape):
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        parity(lambda m, x: getattr(F(m), fname)(x), rand(*shape), what=f"{fname}{shape}")


def test_softmax_dtype_argument():
    parity(lambda m, x: F(m).softmax(x, 1, dtype=m.float64), rand(3, 4), dtypes=("float32",))
    parity(lambda m, x: F(m).log_softmax(x, -1, dtype=m.float64), rand(3, 4), dtypes=("float32",))


# ---------------------------------------------------------------------- linear
@pytest.mark.parametrize("x_shape,w_shape,bias", [
    ((4, 3), (5, 3), True), ((4, 3), (5, 3), False), ((2, 4, 3), (5, 3), True),
    ((3,), (5, 3), True), ((4, 3), (3,), False), ((2, 4, 3), (3,), True),
], ids=str)
def test_linear(x_shape, w_shape, bias):
    args = [rand(*x_shape, seed=1), rand(*w_shape, seed=2)]
    if bias:
        args.append(rand(*w_shape[:-1], seed=3) if len(w_shape) == 2 else np.array(0.3))
    fn = lambda m, *a: F(m).linear(*a)  # noqa: E731
    parity(fn, *args)
    assert gradcheck(fn, *args)


def test_linear_shape_errors_name_the_shapes():
    Fl = lw.nn.functional
    with pytest.raises(RuntimeError, match=r"input of shape \(4, 3\) does not match weight of shape "
                                           r"\(5, 4\).*in_features = 4"):
        Fl.linear(lw.randn(4, 3), lw.randn(5, 4))
    with pytest.raises(RuntimeError, match=r"bias of shape \(4,\) does not match weight of shape "
                                           r"\(5, 3\): expected \(5,\)"):
        Fl.linear(lw.randn(4, 3), lw.randn(5, 3), lw.randn(4))
    with pytest.raises(TypeError, match="input dtype float32 does not match the weight dtype float64"):
        Fl.linear(lw.randn(4, 3), lw.randn(5, 3, dtype=lw.float64))


# ---------------------------------------------------------------------- one_hot
def test_one_hot():
    for idx, n in [(np.array([0, 2, 1]), -1), (np.array([[0, 3], [1, 1]]), 5), (np.array(2), 4),
                   (np.zeros(0, np.int64), 3)]:
        parity(lambda m, t: F(m).one_hot(t, n), idx)
    out = lw.nn.functional.one_hot(lw.tensor([1, 0]), 3)
    assert out.dtype == lw.int64 and out.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_one_hot_errors():
    Fl = lw.nn.functional
    with pytest.raises(RuntimeError, match="expected an integer .* index tensor, got float32"):
        Fl.one_hot(lw.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"smaller than num_classes \(3\), got 5"):
        Fl.one_hot(lw.tensor([0, 5]), 3)
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        Fl.one_hot(lw.tensor([0, -1]), 3)
    with pytest.raises(RuntimeError, match="empty tensor"):
        Fl.one_hot(lw.tensor(np.zeros(0, np.int64)))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        lw.nn.functional.gelu(lw.randn(3), approximate="fast")


def test_prelu_with_a_constant_weight():
    parity(lambda m, x, w: F(m).prelu(x, w), distinct(2, 3), const(np.array([0.1, 0.2, 0.3])))
    x = lw.tensor(distinct(2, 3).astype(np.float32), requires_grad=True)
    F(lw).prelu(x, lw.tensor([0.1, 0.2, 0.3])).sum().backward()
    assert x.grad is not None
