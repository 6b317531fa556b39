"""Dropout: parity at p = 0 and in eval mode, backward with an injected mask, statistics over draws."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import dropout as LD
from layerwise.ops import dropout as D
from parity import assert_close, check_module, gradcheck, rand

MODULES = ["Dropout", "Dropout1d", "Dropout2d", "AlphaDropout"]


@pytest.mark.parametrize("name", MODULES)
def test_parity_at_p0_in_train_and_any_p_in_eval(name):
    shape = (2, 3, 4) if name == "Dropout1d" else (2, 3, 4, 5)
    check_module(lambda m: getattr(m.nn, name)(p=0.0), rand(*shape))
    check_module(lambda m: getattr(m.nn, name)(p=0.7), rand(*shape), train=False)


def test_repr_matches_torch():
    for name in MODULES:
        assert repr(getattr(lw.nn, name)(0.3)) == repr(getattr(torch.nn, name)(0.3))


def test_backward_with_injected_mask_matches_torch_formula():
    x = rand(4, 6)
    mask = np.random.default_rng(0).random((4, 6)) > 0.4
    g = rand(4, 6, seed=1)
    xt = lw.tensor(x, requires_grad=True)
    y = D.Dropout.apply(xt, mask=mask, scale=1 / 0.6)
    y.backward(lw.tensor(g))
    # torch: dropout is x * mask / (1 - p); its gradient is g * mask / (1 - p)
    tx = torch.tensor(x, requires_grad=True)
    (tx * torch.tensor(mask) / 0.6).backward(torch.tensor(g))
    assert_close(y.detach().numpy(), (tx * torch.tensor(mask) / 0.6).detach().numpy(), 1e-12, "fwd")
    assert_close(xt.grad.numpy(), tx.grad.numpy(), 1e-12, "grad")


def test_gradcheck_with_fixed_mask():
    mask = np.random.default_rng(1).random((3, 5)) > 0.5
    assert gradcheck(lambda m, x: D.Dropout.apply(x, mask=mask, scale=2.0), rand(3, 5))
    assert gradcheck(lambda m, x: D.AlphaDropout.apply(x, mask=mask, p=0.5), rand(3, 5))


def test_dropout_statistics_keep_rate_and_mean():
    lw.manual_seed(0)
    x = lw.ones(200_000)
    y = LD.dropout(x, p=0.3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005
    assert np.allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.01


@pytest.mark.parametrize("fn,shape", [(LD.dropout1d, (64, 50, 7)), (LD.dropout2d, (64, 50, 3, 3))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    lw.manual_seed(1)
    y = fn(lw.ones(*shape), p=0.5).numpy()
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()     # all-or-nothing per channel
    assert abs((per_channel[..., 0] != 0).mean() - 0.5) < 0.03


def test_alpha_dropout_keeps_selu_statistics():
    lw.manual_seed(2)
    x = lw.randn(400_000)
    y = LD.alpha_dropout(x, p=0.2, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01
    # dropped units all take the same value a·α' + b
    a = ((1 - 0.2) * (1 + 0.2 * D.SELU_ALPHA_PRIME ** 2)) ** -0.5
    dropped = a * D.SELU_ALPHA_PRIME + (-a * D.SELU_ALPHA_PRIME * 0.2)
    assert abs(np.isclose(y, dropped, atol=1e-6).mean() - 0.2) < 0.005


def test_eval_mode_is_identity_and_output_dtype_kept():
    m = lw.nn.Dropout(0.5).eval()
    x = lw.randn(3, 4)
    assert m(x) is x
    m.train()
    assert m(x).dtype == lw.float32 and m(x.double()).dtype == lw.float64


def test_reproducible_by_seed_and_p1_drops_everything():
    lw.manual_seed(5)
    a = LD.dropout(lw.ones(100), 0.5).numpy()
    lw.manual_seed(5)
    b = LD.dropout(lw.ones(100), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert (LD.dropout(lw.ones(10), 1.0).numpy() == 0).all()


def test_errors():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        lw.nn.Dropout(1.5)
    with pytest.raises(RuntimeError, match=r"dropout2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got \(5,\)"):
        LD.dropout2d(lw.ones(5))
    with pytest.warns(UserWarning, match="3D input"):
        LD.dropout2d(lw.ones(2, 3, 4))
