"""LPPool, LocalResponseNorm, Softmax2d, ChannelShuffle and the 3-d padding layers against torch:
values, gradients, float64 gradcheck, repr and errors."""
import pytest
import torch

import layerwise as lw
from parity import check_module, gradcheck, rand

LAYERS = [
    (lambda m: m.nn.LPPool2d(2, 3), (2, 3, 7, 8), dict(lo=0.1)),
    (lambda m: m.nn.LPPool2d(3.0, (2, 3), stride=(1, 2), ceil_mode=True), (2, 3, 7, 8), dict(lo=0.1)),
    (lambda m: m.nn.LPPool1d(1.5, 2, stride=1), (2, 3, 9), dict(lo=0.1)),
    (lambda m: m.nn.LocalResponseNorm(3), (2, 5, 4, 4), {}),
    (lambda m: m.nn.LocalResponseNorm(4, alpha=0.5, beta=0.6, k=2.0), (2, 6, 7), {}),
    (lambda m: m.nn.LocalResponseNorm(2, alpha=0.3), (2, 4, 3, 2, 2), {}),
    (lambda m: m.nn.Softmax2d(), (2, 4, 3, 3), {}),
    (lambda m: m.nn.Softmax2d(), (4, 3, 3), {}),
    (lambda m: m.nn.ChannelShuffle(3), (2, 6, 2, 2), {}),
    (lambda m: m.nn.ZeroPad3d((1, 0, 2, 1, 0, 1)), (2, 2, 3, 3, 4), {}),
    (lambda m: m.nn.ConstantPad3d(1, 2.5), (2, 3, 3, 4), {}),
    (lambda m: m.nn.ReflectionPad3d(1), (1, 2, 3, 3, 4), {}),
    (lambda m: m.nn.ReplicationPad3d((2, 0, 1, 1, 0, 2)), (1, 2, 3, 3, 4), {}),
    (lambda m: m.nn.CircularPad3d(1), (2, 3, 3, 4), {}),
]
IDS = [repr(make(torch)) + str(shape) for make, shape, _ in LAYERS]


@pytest.mark.parametrize("make, shape, data", LAYERS, ids=IDS)
def test_layer_matches_torch(make, shape, data):
    check_module(make, rand(*shape, **data))
    assert repr(make(lw)) == repr(make(torch))
    assert gradcheck(lambda m, x: make(m)(x), rand(*shape, **data))


def test_errors_match_torch():
    for m in (torch, lw):
        with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
            m.nn.Softmax2d()(m.zeros(2, 3))
        with pytest.raises(RuntimeError, match="Got 6 channels and 4 groups"):
            m.nn.ChannelShuffle(4)(m.zeros(2, 6, 3))
        with pytest.raises(ValueError, match="Expected 3D or higher dimensionality"):
            m.nn.LocalResponseNorm(3)(m.zeros(2, 3))
