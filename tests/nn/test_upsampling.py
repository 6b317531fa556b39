"""interpolate, the Upsample layers and pixel (un)shuffle: forward and gradients against torch,
float64 gradcheck, torch's errors."""
import pytest
import torch

import layerwise as lw
from parity import check_module, gradcheck, parity, rand

CASES = [
    ((2, 3, 5), dict(scale_factor=2)),
    ((2, 3, 5), dict(size=7)),
    ((2, 3, 8), dict(size=3)),                                       # downsampling
    ((2, 3, 5), dict(scale_factor=1.7, mode="linear")),
    ((2, 3, 5), dict(size=9, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(size=1, mode="linear", align_corners=True)),
    ((2, 2, 4, 5), dict(scale_factor=2)),
    ((2, 2, 4, 5), dict(scale_factor=(1.5, 2.5), mode="nearest-exact")),
    ((2, 2, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((2, 2, 4, 5), dict(scale_factor=1.7, mode="bilinear")),
    ((2, 2, 4, 5), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 2, 4, 5), dict(size=(6, 9), mode="bilinear", align_corners=True)),
    ((2, 2, 6, 9), dict(size=(4, 5), mode="bilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 5, 3), mode="nearest")),
    ((2, 2, 6, 9), dict(size=(4, 5), mode="area")),
    ((2, 3, 10), dict(scale_factor=0.5, mode="area")),
]


@pytest.mark.parametrize("shape, kw", CASES, ids=str)
def test_interpolate_matches_torch(shape, kw):
    fn = lambda m, x: m.nn.functional.interpolate(x, **kw)  # noqa: E731
    parity(fn, rand(*shape))
    assert gradcheck(fn, rand(*shape))


LAYERS = [
    (lambda m: m.nn.Upsample(scale_factor=2), (2, 3, 4, 4)),
    (lambda m: m.nn.Upsample(size=(5, 7), mode="bilinear"), (2, 3, 4, 4)),
    (lambda m: m.nn.UpsamplingNearest2d(scale_factor=3), (1, 2, 3, 3)),
    (lambda m: m.nn.UpsamplingBilinear2d(size=(5, 6)), (1, 2, 3, 3)),
    (lambda m: m.nn.PixelShuffle(2), (2, 8, 3, 4)),
    (lambda m: m.nn.PixelShuffle(3), (9, 2, 2)),
    (lambda m: m.nn.PixelUnshuffle(2), (2, 3, 4, 6)),
]


@pytest.mark.parametrize("make, shape", LAYERS, ids=lambda v: repr(v(torch)) if callable(v) else str(v))
def test_upsampling_layers_match_torch(make, shape):
    check_module(make, rand(*shape))
    assert repr(make(lw)) == repr(make(torch))
    assert gradcheck(lambda m, x: make(m)(x), rand(*shape))


def test_pixel_unshuffle_inverts_pixel_shuffle():
    x = lw.randn(2, 12, 3, 5)
    y = lw.nn.functional.pixel_unshuffle(lw.nn.functional.pixel_shuffle(x, 2), 2)
    assert y.tolist() == x.tolist()


def test_errors_match_torch():
    x, t = lw.zeros(1, 2, 3, 5), torch.zeros(1, 2, 3, 5)
    cases = [
        (dict(size=(4, 7), scale_factor=2), ValueError, "only one of size or scale_factor"),
        (dict(), ValueError, "either size or scale_factor should be defined"),
        (dict(scale_factor=2, align_corners=True), ValueError, "align_corners option can only be set"),
        (dict(scale_factor=2, mode="linear"), NotImplementedError, "Got 4D input, but linear mode "
                                                                   "needs 3D input"),
        (dict(scale_factor=2, mode="foo"), NotImplementedError, r"\(got foo\)"),
        (dict(size=(4, 7, 2)), ValueError, "must have the same number of spatial dimensions"),
    ]
    for kw, err, msg in cases:
        for m, inp in ((torch, t), (lw, x)):
            with pytest.raises(err, match=msg):
                m.nn.functional.interpolate(inp, **kw)
    with pytest.raises(NotImplementedError, match="'bicubic' is not implemented"):
        lw.nn.functional.interpolate(x, scale_factor=2, mode="bicubic")
    for m, inp in ((torch, torch.zeros(2, 7, 3, 3)), (lw, lw.zeros(2, 7, 3, 3))):
        with pytest.raises(RuntimeError, match="input.size\\(-3\\)=7 is not divisible by 4"):
            m.nn.functional.pixel_shuffle(inp, 2)
    for m, inp in ((torch, torch.zeros(2, 2, 4, 5)), (lw, lw.zeros(2, 2, 4, 5))):
        with pytest.raises(RuntimeError, match="input.size\\(-1\\)=5 is not divisible by 2"):
            m.nn.functional.pixel_unshuffle(inp, 2)
