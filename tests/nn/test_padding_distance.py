"""functional.pad and the padding layers; cosine_similarity, pairwise_distance, normalize and
their layers: forward and gradients against torch, float64 gradcheck, torch's errors."""
import numpy as np
import pytest
import torch

import layerwise as lw
from parity import check_module, gradcheck, parity, rand

F = "nn.functional"

PADS = [
    ((2, 3, 5), (1, 2), "constant", None),
    ((2, 3, 5), (2, 0), "constant", 1.5),
    ((2, 3, 4, 5), (1, 2, 0, 3), "constant", None),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "constant", -2.0),           # negative amounts crop
    ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), "constant", None),  # more dims than the spatial ones
    ((4,), (3, 1), "constant", None),
    ((2, 3, 5), (2, 4), "reflect", None),
    ((3, 5), (4, 1), "reflect", None),                            # unbatched
    ((2, 3, 4, 5), (1, 2, 3, 1), "reflect", None),
    ((2, 3, 5), (-1, 2), "reflect", None),
    ((2, 3, 5), (3, 7), "replicate", None),
    ((2, 3, 4, 5), (2, 0, 1, 3), "replicate", None),
    ((2, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2), "replicate", None),      # 3-d padding
    ((2, 3, 5), (5, 2), "circular", None),
    ((2, 3, 4, 5), (1, 2, 4, 1), "circular", None),
    ((2, 3, 5), (-2, 3), "circular", None),
    ((2, 3, 5), (2, -1), "circular", None),
    ((1, 3), (-2, 2), "reflect", None),                           # indexes the uncropped input
]


@pytest.mark.parametrize("shape, amounts, mode, value", PADS, ids=lambda v: str(v))
def test_pad_matches_torch(shape, amounts, mode, value):
    fn = lambda m, x: m.nn.functional.pad(x, amounts, mode=mode, value=value)  # noqa: E731
    parity(fn, rand(*shape))
    assert gradcheck(fn, rand(*shape))


LAYERS = [
    (lambda m: m.nn.ZeroPad1d(2), (2, 3, 5)),
    (lambda m: m.nn.ZeroPad2d((1, 0, 2, 3)), (2, 3, 4, 5)),
    (lambda m: m.nn.ConstantPad1d((0, 3), 2.5), (3, 5)),
    (lambda m: m.nn.ConstantPad2d(1, -1.0), (2, 3, 4, 5)),
    (lambda m: m.nn.ReflectionPad1d(3), (2, 3, 5)),
    (lambda m: m.nn.ReflectionPad2d((1, 2, 2, 1)), (2, 3, 4, 5)),
    (lambda m: m.nn.ReplicationPad1d((4, 0)), (2, 3, 5)),
    (lambda m: m.nn.ReplicationPad2d(2), (3, 4, 5)),
    (lambda m: m.nn.CircularPad1d(2), (2, 3, 5)),
    (lambda m: m.nn.CircularPad2d((1, 2, 3, 0)), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("make, shape", LAYERS, ids=lambda v: repr(v(torch)) if callable(v) else str(v))
def test_padding_layers_match_torch(make, shape):
    check_module(make, rand(*shape))
    assert repr(make(lw)) == repr(make(torch))


def test_pad_errors_match_torch():
    x = lw.zeros(2, 3, 4, 5)
    t = torch.zeros(2, 3, 4, 5)
    cases = [
        (dict(pad=(1, 2, 3)), RuntimeError, "Padding length must be divisible by 2"),
        (dict(pad=(1,) * 10), RuntimeError, "less than or equal to two times the input dimension"),
        (dict(pad=(1, 2), mode="reflect"), NotImplementedError, "Padding size 2 is not supported "
                                                                "for 4D input tensor"),
        (dict(pad=(1, 2), mode="wrap"), NotImplementedError, "Unrecognised padding mode wrap"),
        (dict(pad=(1, 1, 1, 1), mode="reflect", value=1.0), RuntimeError,
         'Padding mode "reflect" doesn\'t take in value argument'),
        (dict(pad=(5, 1, 0, 0), mode="reflect"), RuntimeError,
         r"Padding size should be less than the corresponding input dimension, but got: "
         r"padding \(5, 1\) at dimension 3 of input \[2, 3, 4, 5\]"),
        (dict(pad=(6, 1, 0, 0), mode="circular"), RuntimeError, "wrapping around more than once"),
    ]
    for kw, err, msg in cases:
        for m, inp in ((torch, t), (lw, x)):
            with pytest.raises(err, match=msg):
                m.nn.functional.pad(inp, **kw)
    with pytest.raises(RuntimeError, match="negative size"):
        lw.nn.functional.pad(x, (-3, -3))
    with pytest.raises(RuntimeError, match="non-zero dimensions"):
        lw.nn.functional.pad(lw.zeros(2, 0, 3), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="a tuple of 4 ints"):
        lw.nn.ZeroPad2d((1, 2))


# ---------------------------------------------------------------------- distances
SIM = [((4, 6), (4, 6), 1), ((3, 1, 5), (1, 4, 5), -1), ((2, 5, 3), (2, 5, 3), 0), ((7,), (7,), 0)]


@pytest.mark.parametrize("s1, s2, dim", SIM, ids=str)
def test_cosine_similarity_matches_torch(s1, s2, dim):
    fn = lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=dim)  # noqa: E731
    parity(fn, rand(*s1, seed=1), rand(*s2, seed=2))
    assert gradcheck(fn, rand(*s1, seed=1), rand(*s2, seed=2))


def test_cosine_similarity_clamps_each_norm_like_torch():
    a = np.array([[1e-5, 0.0], [3.0, 4.0]])
    b = np.array([[1e-5, 0.0], [1e-9, 0.0]])
    parity(lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=1), a, b, dtypes=("float64",))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, keepdim):
    fn = lambda m, a, b: m.nn.functional.pairwise_distance(a, b, p=p, keepdim=keepdim)  # noqa: E731
    parity(fn, rand(5, 4, seed=3), rand(5, 4, seed=4))
    parity(fn, rand(4, seed=3), rand(3, 4, seed=4))
    assert gradcheck(fn, rand(5, 4, seed=3), rand(5, 4, seed=4))


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize_matches_torch(p, dim):
    fn = lambda m, x: m.nn.functional.normalize(x, p=p, dim=dim)  # noqa: E731
    parity(fn, rand(4, 5, 3))
    assert gradcheck(fn, rand(4, 5, 3))
    zero = np.zeros((2, 3))
    parity(lambda m, x: m.nn.functional.normalize(x), zero, dtypes=("float64",))


def test_distance_layers_and_errors():
    check_module(lambda m: m.nn.CosineSimilarity(dim=2, eps=1e-6), rand(2, 3, 4, seed=5),
                 rand(2, 3, 4, seed=6))
    check_module(lambda m: m.nn.PairwiseDistance(p=1.0, keepdim=True), rand(6, 3, seed=7),
                 rand(6, 3, seed=8))
    assert repr(lw.nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())
    with pytest.raises(RuntimeError, match=r"shapes \(3, 4\) and \(5, 4\) do not broadcast"):
        lw.nn.functional.cosine_similarity(lw.zeros(3, 4), lw.zeros(5, 4))
    with pytest.raises(TypeError, match="floating point"):
        lw.nn.functional.pairwise_distance(lw.zeros(3, dtype=lw.int64), lw.zeros(3, dtype=lw.int64))
