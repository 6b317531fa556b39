"""Unfold and Fold against torch: values, gradients, float64 gradcheck, errors, repr."""
import pytest
import torch

import layerwise as lw
from parity import check_module, gradcheck, parity, rand

UNFOLD = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((2, 3, 5, 6), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
    ((3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),                   # unbatched
    ((1, 2, 4, 4), dict(kernel_size=1)),
]


@pytest.mark.parametrize("shape, kw", UNFOLD, ids=str)
def test_unfold_matches_torch(shape, kw):
    fn = lambda m, x: m.nn.functional.unfold(x, **kw)  # noqa: E731
    parity(fn, rand(*shape))
    assert gradcheck(fn, rand(*shape))


FOLD = [
    ((2, 12, 20), dict(output_size=(5, 6), kernel_size=2)),
    ((2, 18, 15), dict(output_size=(5, 6), kernel_size=(2, 3), dilation=(2, 1), padding=1,
                       stride=(1, 2))),
    ((27, 16), dict(output_size=7, kernel_size=3, stride=2, padding=1)),     # unbatched
    ((1, 8, 9), dict(output_size=(6, 7), kernel_size=2, stride=2)),          # uneven: output_padding
]


@pytest.mark.parametrize("shape, kw", FOLD, ids=str)
def test_fold_matches_torch(shape, kw):
    fn = lambda m, x: m.nn.functional.fold(x, **kw)  # noqa: E731
    parity(fn, rand(*shape))
    assert gradcheck(fn, rand(*shape))


def test_layers_repr_and_round_trip():
    check_module(lambda m: m.nn.Unfold((2, 3), dilation=2, padding=1, stride=(1, 2)), rand(2, 3, 5, 6))
    check_module(lambda m: m.nn.Fold((5, 6), 2), rand(2, 12, 20))
    for make in (lambda m: m.nn.Unfold(3), lambda m: m.nn.Fold((5, 6), 2, padding=1)):
        assert repr(make(lw)) == repr(make(torch))
    # non-overlapping blocks: fold(unfold(x)) == x
    x = lw.randn(2, 3, 4, 6)
    back = lw.nn.functional.fold(lw.nn.functional.unfold(x, 2, stride=2), (4, 6), 2, stride=2)
    assert back.tolist() == x.tolist()


def test_fold_errors_match_torch():
    for m in (torch, lw):
        with pytest.raises(RuntimeError, match="match the calculated number of sliding blocks 4 \\* 5 "
                                               "= 20, but got input.size\\(2\\)=7"):
            m.nn.functional.fold(m.zeros(2, 12, 7), (5, 6), 2)
        with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
            m.nn.functional.fold(m.zeros(2, 13, 20), (5, 6), 2)
    with pytest.raises(RuntimeError, match="expected a 3D \\(unbatched\\) or 4D"):
        lw.nn.functional.unfold(lw.zeros(2, 3), 2)
