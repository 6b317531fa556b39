"""The 3-d (volumetric) layers against torch: BatchNorm3d, InstanceNorm3d, Dropout3d."""
import numpy as np
import pytest
import torch

import layerwise as lw
from parity import check_module, gradcheck, parity_module, rand

X5 = (2, 3, 3, 4, 2)


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm3d_matches_torch_with_running_stats(train):
    x = rand(*X5)
    for mine, th in parity_module(lambda m: m.nn.BatchNorm3d(3, momentum=0.3), x, train=train):
        np.testing.assert_allclose(mine.running_mean.numpy(), th.running_mean.detach().numpy(),
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(mine.running_var.numpy(), th.running_var.detach().numpy(),
                                   rtol=1e-6, atol=1e-7)
    assert repr(lw.nn.BatchNorm3d(3)) == repr(torch.nn.BatchNorm3d(3))
    bn = lw.nn.BatchNorm3d(3).double()
    assert gradcheck(lambda m, x: bn(x), x, params=list(bn.parameters()))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, D, H, W\)"):
        lw.nn.BatchNorm3d(3)(lw.zeros(2, 3, 4, 4))


@pytest.mark.parametrize("make", [lambda m: m.nn.InstanceNorm3d(3),
                                  lambda m: m.nn.InstanceNorm3d(3, affine=True,
                                                                track_running_stats=True)],
                         ids=lambda mk: repr(mk(torch)))
def test_instancenorm3d_matches_torch(make):
    check_module(make, rand(*X5))
    check_module(make, rand(*X5[1:]))                     # unbatched (C, D, H, W)
    assert repr(make(lw)) == repr(make(torch))
    mod = make(lw).double()
    assert gradcheck(lambda m, x: mod(x), rand(*X5), params=list(mod.parameters()))


def test_dropout3d_drops_whole_channels():
    lw.manual_seed(0)
    x = lw.ones(8, 16, 2, 3, 3)
    y = lw.nn.Dropout3d(0.5)(x).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2.0).all(axis=2))
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    check_module(lambda m: m.nn.Dropout3d(0.5), rand(*X5), train=False)     # eval: identity
    assert repr(lw.nn.Dropout3d(0.3)) == repr(torch.nn.Dropout3d(0.3))
    with pytest.raises(RuntimeError, match=r"\(N, C, D, H, W\) or \(C, D, H, W\)"):
        lw.nn.functional.dropout3d(lw.zeros(2, 3, 4), 0.5)


# ---------------------------------------------------------------------- Conv3d
CONV3D = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=(2, 3, 1), stride=(2, 1, 2), padding=(1, 0, 1)),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2, 2), dilation=(2, 1, 2), groups=2,
         bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="same"),
    dict(in_channels=2, out_channels=3, kernel_size=(2, 2, 3), padding="same", dilation=(2, 1, 1)),
    dict(in_channels=2, out_channels=2, kernel_size=3, padding=1, padding_mode="reflect"),
    dict(in_channels=2, out_channels=2, kernel_size=2, padding=1, padding_mode="circular"),
]


@pytest.mark.parametrize("kw", CONV3D, ids=str)
def test_conv3d_matches_torch(kw):
    make = lambda m: m.nn.Conv3d(**kw)  # noqa: E731
    c = kw["in_channels"]
    check_module(make, rand(2, c, 5, 6, 5))
    check_module(make, rand(c, 5, 6, 5))                                    # unbatched
    assert repr(make(lw)) == repr(make(torch))
    mod = make(lw).double()
    assert gradcheck(lambda m, x: mod(x), rand(1, c, 5, 4, 5), params=list(mod.parameters()))
    assert tuple(make(lw).weight.shape) == tuple(make(torch).weight.shape)


def test_conv3d_functional_and_errors():
    from parity import parity
    parity(lambda m, x, w, b: m.nn.functional.conv3d(x, w, b, stride=2, padding=1),
           rand(2, 3, 5, 5, 5), rand(4, 3, 3, 3, 3), rand(4))
    with pytest.raises(RuntimeError, match=r"expected input of shape \(N, 3, D, H, W\)"):
        lw.nn.Conv3d(3, 4, 2)(lw.zeros(2, 3, 5, 5))
    with pytest.raises(RuntimeError, match="kernel size"):
        lw.nn.Conv3d(3, 4, 3)(lw.zeros(1, 3, 2, 5, 5))


# ---------------------------------------------------------------------- 3-d pooling
POOLS = [
    lambda m: m.nn.MaxPool3d(2),
    lambda m: m.nn.MaxPool3d((2, 3, 3), stride=1, padding=1, dilation=(2, 1, 1)),
    lambda m: m.nn.MaxPool3d(3, stride=2, padding=1, ceil_mode=True),
    lambda m: m.nn.AvgPool3d(2),
    lambda m: m.nn.AvgPool3d(3, stride=2, padding=1),
    lambda m: m.nn.AvgPool3d(3, stride=2, padding=1, count_include_pad=False),
    lambda m: m.nn.AvgPool3d((2, 3, 2), stride=(2, 2, 1), padding=(1, 1, 0), ceil_mode=True),
    lambda m: m.nn.AvgPool3d((3, 3, 2), stride=2, padding=1, ceil_mode=True,
                             count_include_pad=False),
    lambda m: m.nn.AvgPool3d(2, divisor_override=3),
    lambda m: m.nn.AdaptiveAvgPool3d((2, 3, 4)),
    lambda m: m.nn.AdaptiveAvgPool3d((3, None, 2)),
    lambda m: m.nn.AdaptiveMaxPool3d(2),
    lambda m: m.nn.AdaptiveMaxPool3d((3, 2, 5)),
]


@pytest.mark.parametrize("make", POOLS, ids=lambda mk: repr(mk(torch)))
def test_3d_pooling_matches_torch(make):
    from parity import distinct
    x = distinct(2, 2, 5, 6, 7)                          # distinct values: no ties in the maxima
    check_module(make, x)
    check_module(make, distinct(2, 5, 6, 7))            # unbatched
    assert repr(make(lw)) == repr(make(torch))
    assert gradcheck(lambda m, t: make(m)(t), distinct(1, 2, 5, 6, 7))


def test_3d_pooling_not_implemented_is_said():
    with pytest.raises(NotImplementedError, match="return_indices is not implemented"):
        lw.nn.MaxPool3d(2, return_indices=True)(lw.zeros(1, 1, 4, 4, 4))
    with pytest.raises(RuntimeError, match=r"\(N, C, D, H, W\) or \(C, D, H, W\)"):
        lw.nn.functional.avg_pool3d(lw.zeros(2, 3, 4), 2)
