"""Matrix products against torch: every 1-D/2-D/batched case of matmul, broadcast batch dims,
mm/bmm/@/dot/outer, integer dtypes, gradients of both operands, and clear shape errors."""
import numpy as np
import pytest

import layerwise as lw
from parity import const, gradcheck, parity, rand

MATMUL = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),                 # dot → 0-d
    ((4,), (4, 5)),               # vector @ matrix
    ((3, 4), (4,)),               # matrix @ vector
    ((2, 3, 4), (4, 5)),          # batch @ matrix
    ((3, 4), (2, 4, 5)),          # matrix @ batch
    ((2, 3, 4), (4,)),            # batch @ vector
    ((4,), (2, 4, 5)),            # vector @ batch
    ((2, 3, 4), (2, 4, 5)),       # bmm
    ((1, 3, 4), (2, 4, 5)),       # broadcast batch of 1
    ((2, 1, 3, 4), (5, 4, 2)),    # broadcast batch dims in both directions
    ((2, 1, 3, 4), (1, 3, 4, 2)),
    ((1, 4), (4, 1)),
    ((3, 1), (1, 5)),             # outer product by matmul
    ((2, 2, 1, 4), (4,)),
]


@pytest.mark.parametrize("sa,sb", MATMUL, ids=str)
def test_matmul(sa, sb):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    parity(lambda m, a, b: m.matmul(a, b), a, b)
    parity(lambda m, a, b: a @ b, a, b)
    parity(lambda m, a, b: a.matmul(b), a, const(b))
    parity(lambda m, a, b: a.matmul(b), const(a), b)


def test_mm_bmm_dot_outer():
    parity(lambda m, a, b: m.mm(a, b), rand(3, 4), rand(4, 2))
    parity(lambda m, a, b: a.mm(b), rand(3, 4), rand(4, 2))
    parity(lambda m, a, b: m.bmm(a, b), rand(2, 3, 4), rand(2, 4, 2))
    parity(lambda m, a, b: a.bmm(b), rand(2, 3, 4), rand(2, 4, 2))
    parity(lambda m, a, b: m.dot(a, b), rand(5), rand(5, seed=3))
    parity(lambda m, a, b: a.dot(b), rand(5), rand(5, seed=3))
    parity(lambda m, a, b: m.outer(a, b), rand(3), rand(4))


def test_matmul_integer_and_mixed_dtypes():
    i, j = const(np.arange(6).reshape(2, 3)), const(np.arange(12).reshape(3, 4) - 5)
    parity(lambda m, i, j: i @ j, i, j)
    parity(lambda m, i, j: i @ j[:, 0], i, j)


def test_matmul_chain_gradient():
    parity(lambda m, x, w1, w2: m.tanh(x @ w1) @ w2, rand(5, 3), rand(3, 4), rand(4, 2))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((2, 3), (3,)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((4,), (4,))], ids=str)
def test_gradcheck(sa, sb):
    assert gradcheck(lambda m, a, b: m.matmul(a, b), rand(*sa, seed=4), rand(*sb, seed=5))


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(3, 4\) and \(5, 2\)"):
        lw.ones(3, 4) @ lw.ones(5, 2)
    with pytest.raises(RuntimeError, match=r"\(3,\) and \(4,\)"):
        lw.matmul(lw.ones(3), lw.ones(4))
    with pytest.raises(RuntimeError, match=r"\(2, 3, 4\) and \(3, 4, 5\)"):
        lw.ones(2, 3, 4) @ lw.ones(3, 4, 5)
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        lw.matmul(lw.ones(()), lw.ones(3))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        lw.dot(lw.ones(2, 2), lw.ones(2))
