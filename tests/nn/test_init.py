"""nn.init against torch: gains, fans, bounds and the statistics of each initialiser."""
import math

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import init


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                      ("tanh", None), ("relu", None), ("leaky_relu", None),
                                      ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(30, 20), (16, 3, 5, 5), (8, 4, 7)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(lw.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _stats(fill, shape=(400, 300)):
    t = lw.empty(*shape)
    fill(t)
    return t.numpy()


def test_uniform_family_bounds_and_variance():
    fan_in, fan_out = 300, 400
    w = _stats(lambda t: init.xavier_uniform_(t, gain=2.0))
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    w = _stats(lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)))
    bound = 1 / math.sqrt(fan_in)                    # the Linear/Conv default works out to 1/√fan_in
    assert np.abs(w).max() <= bound and abs(w.var() - bound ** 2 / 3) < 0.03 * bound ** 2 / 3
    w = _stats(lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"))
    assert np.abs(w).max() <= math.sqrt(2) * math.sqrt(3 / fan_out)


def test_normal_family_std():
    fan_in, fan_out = 300, 400
    w = _stats(lambda t: init.xavier_normal_(t))
    assert abs(w.std() - math.sqrt(2 / (fan_in + fan_out))) < 0.02 * math.sqrt(2 / (fan_in + fan_out))
    w = _stats(lambda t: init.kaiming_normal_(t, nonlinearity="relu"))
    assert abs(w.std() - math.sqrt(2 / fan_in)) < 0.02 * math.sqrt(2 / fan_in)
    w = _stats(lambda t: init.normal_(t, 1.0, 0.5))
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.5) < 0.01


def test_trunc_normal_stays_in_bounds():
    w = _stats(lambda t: init.trunc_normal_(t, mean=0.0, std=1.0, a=-0.5, b=1.0))
    assert w.min() >= -0.5 and w.max() <= 1.0 and w.std() > 0.2


def test_orthogonal_rows_or_columns_are_orthonormal():
    for shape in [(6, 10), (10, 6), (4, 2, 3)]:
        t = lw.empty(*shape)
        init.orthogonal_(t, gain=1.5)
        m = t.numpy().reshape(shape[0], -1)
        small = m @ m.T if shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(small, 1.5 ** 2 * np.eye(len(small)), atol=1e-5)


def test_constant_zeros_ones_eye_dirac_match_torch():
    for lw_f, th_f, args in [(init.constant_, torch.nn.init.constant_, (0.3,)), (init.zeros_, torch.nn.init.zeros_, ()),
                             (init.ones_, torch.nn.init.ones_, ())]:
        a, b = lw.empty(3, 4), torch.empty(3, 4)
        lw_f(a, *args)
        th_f(b, *args)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a, b = lw.empty(3, 5), torch.empty(3, 5)
    init.eye_(a)
    torch.nn.init.eye_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    a, b = lw.empty(4, 2, 3, 3), torch.empty(4, 2, 3, 3)
    init.dirac_(a, groups=2)
    torch.nn.init.dirac_(b, groups=2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_reproducible_with_seed_and_generator_and_fan_errors():
    lw.manual_seed(3)
    a = _stats(lambda t: init.kaiming_uniform_(t), (5, 4))
    lw.manual_seed(3)
    b = _stats(lambda t: init.kaiming_uniform_(t), (5, 4))
    np.testing.assert_array_equal(a, b)
    g1, g2 = lw.Generator().manual_seed(9), lw.Generator().manual_seed(9)
    np.testing.assert_array_equal(_stats(lambda t: init.uniform_(t, generator=g1), (3,)),
                                  _stats(lambda t: init.uniform_(t, generator=g2), (3,)))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(lw.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(lw.empty(3, 3), mode="fan_avg")
