"""Activation Modules (layerwise/nn/activation.py) against torch.nn: forward and gradients
(parameters included), constructor defaults, attributes, repr and state_dict."""
import numpy as np
import pytest
import torch

import layerwise as lw
from parity import check_module, distinct, gradcheck, parity_module

# (constructor called with the library module m, spread of the test data)
MODULES = [
    (lambda m: m.nn.ReLU(), 3), (lambda m: m.nn.LeakyReLU(), 3), (lambda m: m.nn.LeakyReLU(0.3), 3),
    (lambda m: m.nn.PReLU(), 3), (lambda m: m.nn.PReLU(3, init=0.1), 3),
    (lambda m: m.nn.ELU(), 4), (lambda m: m.nn.ELU(alpha=0.5), 4), (lambda m: m.nn.SELU(), 4),
    (lambda m: m.nn.CELU(), 4), (lambda m: m.nn.CELU(2.0), 4), (lambda m: m.nn.GELU(), 8),
    (lambda m: m.nn.GELU("tanh"), 5), (lambda m: m.nn.SiLU(), 6), (lambda m: m.nn.Mish(), 6),
    (lambda m: m.nn.Sigmoid(), 6), (lambda m: m.nn.Tanh(), 3), (lambda m: m.nn.Softplus(), 25),
    (lambda m: m.nn.Softplus(beta=2, threshold=3), 3), (lambda m: m.nn.Softsign(), 5),
    (lambda m: m.nn.Hardtanh(), 3), (lambda m: m.nn.Hardtanh(-0.5, 2.0), 3),
    (lambda m: m.nn.ReLU6(), 7.3), (lambda m: m.nn.Hardsigmoid(), 5), (lambda m: m.nn.Hardswish(), 5),
    (lambda m: m.nn.LogSigmoid(), 20), (lambda m: m.nn.Threshold(0.37, -1.5), 3),
    (lambda m: m.nn.Softmax(dim=1), 3), (lambda m: m.nn.Softmax(-1), 3),
    (lambda m: m.nn.LogSoftmax(dim=1), 3), (lambda m: m.nn.Softmin(dim=2), 3),
    (lambda m: m.nn.Softshrink(), 3), (lambda m: m.nn.Softshrink(1.2), 3),
    (lambda m: m.nn.Hardshrink(), 3), (lambda m: m.nn.Hardshrink(0.8), 3),
    (lambda m: m.nn.Tanhshrink(), 4), (lambda m: m.nn.GLU(), 4), (lambda m: m.nn.GLU(dim=0), 4),
]
IDS = [repr(make(torch)) for make, _ in MODULES]
# torch's float64 Hardsigmoid backward uses a float32 1/6; layerwise uses the exact one.
TOL = {"Hardsigmoid()": {"float64": (1e-9, 5e-8)}}


@pytest.mark.parametrize("make,spread", MODULES, ids=IDS)
def test_module_parity(make, spread):
    check_module(make, distinct(2, 3, 4, spread=spread), tol=TOL.get(repr(make(torch))))


@pytest.mark.parametrize("make,spread", MODULES, ids=IDS)
def test_module_gradcheck(make, spread):
    mod = make(lw).double()
    assert gradcheck(lambda m, x: mod(x), distinct(2, 3, 2, spread=spread),
                     params=list(mod.parameters()))


@pytest.mark.parametrize("make,spread", MODULES, ids=IDS)
def test_repr_attributes_and_state_dict_match_torch(make, spread):
    th, mine = make(torch), make(lw)
    assert repr(mine) == repr(th)
    public = {k: v for k, v in vars(th).items() if not k.startswith("_") and k != "training"}
    for k, v in public.items():
        assert getattr(mine, k) == v, k
    assert list(mine.state_dict()) == list(th.state_dict())


@pytest.mark.parametrize("make", [
    lambda m: m.nn.ReLU(inplace=True), lambda m: m.nn.LeakyReLU(0.2, inplace=True),
    lambda m: m.nn.ELU(0.5, inplace=True), lambda m: m.nn.SELU(True), lambda m: m.nn.CELU(2.0, True),
    lambda m: m.nn.SiLU(inplace=True), lambda m: m.nn.Mish(inplace=True),
    lambda m: m.nn.Hardtanh(-2, 3, True), lambda m: m.nn.ReLU6(inplace=True),
    lambda m: m.nn.Hardsigmoid(inplace=True), lambda m: m.nn.Hardswish(inplace=True),
    lambda m: m.nn.Threshold(0.1, 20, inplace=True),
], ids=lambda make: repr(make(torch)))
def test_inplace_modules(make):
    assert repr(make(lw)) == repr(make(torch))
    # in place on a non-leaf (x * 1), gradients flowing through both libraries' in-place paths
    check_module(make, distinct(2, 3, spread=4), call=lambda mod, x: mod(x * 1),
                 tol=TOL.get(repr(make(torch))))
    x = lw.tensor([-1.0, 2.0])
    assert make(lw)(x) is x


def test_prelu_parameter_per_channel():
    for mods in parity_module(lambda m: m.nn.PReLU(4), distinct(3, 4, 2, 2)):
        mine, th = mods
        assert mine.weight.shape == th.weight.shape == (4,)
        assert mine.weight.grad is not None and np.any(mine.weight.grad.numpy())
    p = lw.nn.PReLU(3, init=0.1, dtype=lw.float64)
    assert p.weight.dtype == lw.float64 and p.weight.tolist() == [0.1] * 3
    assert lw.nn.PReLU().weight.dtype == lw.float32
    assert [n for n, _ in p.named_parameters()] == ["weight"]


def test_prelu_wrong_channel_count_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"weight has 3 parameters but the input of shape "
                                           r"\(2, 4\) has 4 channels"):
        lw.nn.PReLU(3)(lw.randn(2, 4))


def test_hardtanh_rejects_empty_range_and_accepts_legacy_names():
    with pytest.raises(ValueError, match=r"max_val \(1\) must be greater than min_val \(2\)"):
        lw.nn.Hardtanh(2, 1)
    with pytest.warns(FutureWarning, match="min_value` is deprecated"):
        h = lw.nn.Hardtanh(min_value=-2.0)
    assert h.min_val == -2.0


def test_softmax_without_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        check_module(lambda m: m.nn.Softmax(), distinct(2, 3, 4))


def test_all_names_are_exported_and_exist_in_torch():
    from layerwise.nn import activation
    for name in activation.__all__:
        assert getattr(lw.nn, name) is getattr(activation, name)
        assert hasattr(torch.nn, name), name


def test_sequential_network_matches_torch():
    make = lambda m: m.nn.Sequential(m.nn.Linear(4, 6), m.nn.GELU(), m.nn.Linear(6, 5),  # noqa: E731
                                     m.nn.PReLU(), m.nn.Linear(5, 3), m.nn.LogSoftmax(dim=1))
    check_module(make, distinct(5, 4))


def test_shrink_and_glu_errors_match_torch():
    for m in (torch, lw):
        with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
            m.nn.functional.glu(m.zeros(3, 5))
        with pytest.raises(RuntimeError, match="lambda must be in range"):
            m.nn.functional.softshrink(m.zeros(3), -1.0)


# ---------------------------------------------------------------------- RReLU (random in training)
@pytest.mark.parametrize("make", [lambda m: m.nn.RReLU(), lambda m: m.nn.RReLU(0.1, 0.3)],
                         ids=lambda mk: repr(mk(torch)))
def test_rrelu_eval_matches_torch_and_training_draws_slopes_in_range(make):
    check_module(make, distinct(2, 3, 4, spread=3), train=False)          # eval: fixed slope
    assert repr(make(lw)) == repr(make(torch))
    mod = make(lw).eval().double()
    assert gradcheck(lambda m, x: mod(x), distinct(2, 3, 2, spread=3))
    lw.manual_seed(0)
    layer = make(lw).train()
    x = lw.tensor(distinct(40, 50, spread=3), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    xs, ys, gs = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    slopes = ys[xs < 0] / xs[xs < 0]
    assert layer.lower <= slopes.min() and slopes.max() <= layer.upper
    assert abs(slopes.mean() - (layer.lower + layer.upper) / 2) < 0.01       # U(lower, upper)
    np.testing.assert_allclose(gs[xs < 0], slopes, rtol=1e-6)               # the drawn slope
    assert (ys[xs >= 0] == xs[xs >= 0]).all() and (gs[xs >= 0] == 1).all()


def test_rrelu_functional_and_inplace():
    x = lw.tensor([-2.0, 3.0])
    assert lw.nn.functional.rrelu(x).tolist() == pytest.approx([-2 * (1 / 8 + 1 / 3) / 2, 3.0])
    assert lw.nn.RReLU(inplace=True).eval()(x) is x
    with pytest.raises(ValueError, match="lower <= upper"):
        lw.nn.functional.rrelu(x, 0.5, 0.1)
