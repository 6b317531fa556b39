"""Reductions, softmax and sorting against torch: dims (negative, tuples), keepdim, correction,
ties (amax splits the gradient, max(dim) sends it to the returned index), zeros in prod and norm,
-inf in softmax/logsumexp, integer dtypes, and a float64 gradcheck per differentiable op."""
import numpy as np
import pytest

import layerwise as lw
from parity import const, distinct, gradcheck, parity, rand

SHAPE = (3, 4, 5)
DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2), ()]


def _dim_kw(dim):
    return {} if dim is None else {"dim": dim}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_mean(op, dim, keepdim):
    if dim is None and keepdim:
        fn = lambda m, x: getattr(m, op)(x, dim=(0, 1, 2), keepdim=True)  # noqa: E731
    elif dim is None:
        fn = lambda m, x: getattr(x, op)()  # noqa: E731
    else:
        fn = lambda m, x: getattr(m, op)(x, dim, keepdim=keepdim)  # noqa: E731
    parity(fn, rand(*SHAPE), what=f"{op}({dim}, keepdim={keepdim})")


@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 1)], ids=str)
def test_sum_mean_small_shapes(shape):
    x = rand(*shape) if shape else np.array(1.25)
    parity(lambda m, x: x.sum(), x)
    parity(lambda m, x: x.mean(), x)
    parity(lambda m, x: m.sum(x, 0, keepdim=True), x)
    parity(lambda m, x: m.mean(x, -1), x)


def test_sum_dtypes():
    i = const(np.array([[1, 2], [3, 4]], dtype=np.int32))
    parity(lambda m, i: i.sum(), i)                         # int32 → int64
    parity(lambda m, i: i.sum(1), i)
    parity(lambda m, b: b.sum(), const(np.array([True, False, True])))    # bool → int64
    parity(lambda m, x: m.sum(x, dtype=m.float64), rand(3))
    parity(lambda m, i: i.float().mean(), i)


def test_mean_of_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="mean.*float"):
        lw.tensor([1, 2, 3]).mean()
    with pytest.raises(RuntimeError, match="var.*float"):
        lw.tensor([1, 2, 3]).var()


VAR_ARGS = [
    dict(),
    dict(dim=0),
    dict(dim=-1, keepdim=True),
    dict(dim=(0, 2)),
    dict(dim=1, correction=0),
    dict(dim=1, correction=2),
    dict(dim=(1, 2), unbiased=False, keepdim=True),
    dict(dim=0, unbiased=True),
    dict(correction=0),
]


@pytest.mark.parametrize("kw", VAR_ARGS, ids=str)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op, kw):
    parity(lambda m, x: getattr(m, op)(x, **kw), rand(*SHAPE), what=f"{op}({kw})")
    parity(lambda m, x: getattr(x, op)(**kw), rand(*SHAPE) + 5.0, what=f"{op}({kw}) method")


def test_var_positional_unbiased_and_dim():
    parity(lambda m, x: x.var(1), rand(3, 4))              # positional dim
    parity(lambda m, x: x.std(False), rand(3, 4))          # positional unbiased
    parity(lambda m, x: m.var(x, 0, False), rand(3, 4))


def test_var_degenerate():
    """n − correction ≤ 0 gives inf/nan as torch (and no crash)."""
    parity(lambda m, x: x.var(0), rand(1, 3), grad=False)
    parity(lambda m, x: x.var(), np.array([2.0]), grad=False)


PROD_CASES = [
    (None, False), (0, False), (1, True), (-1, False),
]


@pytest.mark.parametrize("dim,keepdim", PROD_CASES, ids=str)
@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_prod(dim, keepdim, zeros):
    x = rand(3, 4, lo=0.5, hi=1.5) * np.where(np.arange(12).reshape(3, 4) % 2, 1, -1)
    x.flat[:zeros * 5:5] = 0.0          # one zero, or two zeros (in the same row and column-free)
    if dim is None:
        parity(lambda m, x: x.prod(), x)
    else:
        parity(lambda m, x: m.prod(x, dim, keepdim=keepdim), x)


def test_prod_zeros_in_one_slice():
    x = np.array([[0.0, 2.0, 0.0], [1.5, 0.0, 3.0]])
    parity(lambda m, x: x.prod(1), x)
    parity(lambda m, x: x.prod(), np.array([2.0, 0.0, 3.0]))
    parity(lambda m, i: i.prod(0), const(np.array([[2, 3], [4, 5]])))


def test_max_min_all_elements_ties_split_evenly():
    x = np.array([[3.0, 1.0, 3.0], [2.0, 3.0, -1.0]])
    for fn in (lambda m, x: x.max(), lambda m, x: m.max(x), lambda m, x: (-x).min(),
               lambda m, x: m.amax(x), lambda m, x: m.amin(-x)):
        parity(fn, x)
    lx = lw.tensor(x, requires_grad=True)
    lx.max().backward()
    np.testing.assert_array_equal(lx.grad.numpy(), [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_with_ties(op, dim, keepdim):
    """(values, indices); the gradient goes to the returned index only, even at a tie."""
    x = np.array([[3.0, 1.0, 3.0, 0.0], [2.0, 2.0, -1.0, -1.0], [0.5, 4.0, 4.0, 0.5]])
    parity(lambda m, x: getattr(m, op)(x, dim, keepdim=keepdim), x)
    parity(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim).values, x)
    parity(lambda m, x: getattr(x, op)(dim)[1], x)


def test_max_dim_returns_named_tuple():
    v, i = lw.tensor([[1.0, 5.0], [7.0, 2.0]]).max(1)
    r = lw.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    assert v.tolist() == [5.0, 7.0] and i.dtype == lw.int64


AMAX_DIMS = [0, -1, (0, 1), (1, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", AMAX_DIMS, ids=str)
def test_amax_amin_ties_split(dim, keepdim):
    x = np.round(rand(2, 3, 4) * 2) / 2                    # many ties
    parity(lambda m, x: m.amax(x, dim, keepdim), x)
    parity(lambda m, x: m.amin(x, dim=dim, keepdim=keepdim), x)
    parity(lambda m, x: x.amax(dim), distinct(2, 3, 4))


@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"dim": -1}, {"dim": 1, "keepdim": True}], ids=str)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(op, kw):
    x = np.array([[1.0, 3.0, 3.0], [0.0, -2.0, 5.0]])
    parity(lambda m, x: getattr(m, op)(x, **kw), x)
    parity(lambda m, x: getattr(x, op)(**kw), distinct(3, 4))


@pytest.mark.parametrize("dim,keepdim", [(0, False), (-1, True), ((0, 1), False), (1, False)], ids=str)
def test_logsumexp(dim, keepdim):
    parity(lambda m, x: m.logsumexp(x, dim, keepdim=keepdim), rand(3, 4) * 3)
    parity(lambda m, x: x.logsumexp(dim) , rand(3, 4) * 100)        # large values: no overflow


def test_logsumexp_with_infinities():
    x = np.array([[-np.inf, 0.5, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]])
    parity(lambda m, x: m.logsumexp(x, 1), x[:2])
    parity(lambda m, x: m.logsumexp(x, 1), const(x), grad=False)


NORM_P = [1, 2, 3, float("inf"), 1.5, "fro"]


@pytest.mark.parametrize("p", NORM_P, ids=str)
@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": (0, 1), "keepdim": True}, {"dim": -1, "keepdim": True}], ids=str)
def test_norm(p, kw):
    x = distinct(3, 4, seed=8)
    parity(lambda m, x: m.norm(x, p=p, **kw), x)


@pytest.mark.parametrize("p", [1, 2, 3, float("inf"), 0.5])
def test_norm_zero_vector_and_zero_entries(p):
    """Gradient 0 for an all-zero vector; entries that are 0 get gradient 0 (sign(0))."""
    parity(lambda m, x: x.norm(p=p), np.zeros(4))
    if p >= 1:
        parity(lambda m, x: x.norm(p=p), np.array([0.0, 1.5, -2.0, 0.0]))
    parity(lambda m, x: m.norm(x, p, dim=1), np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]))


def test_norm_inf_ties():
    parity(lambda m, x: x.norm(p=float("inf")), np.array([2.0, -2.0, 1.0]))


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_cumsum(dim):
    parity(lambda m, x: m.cumsum(x, dim), rand(2, 3, 4))
    parity(lambda m, x: x.cumsum(dim=dim), rand(2, 3, 4) * 10)


def test_cumsum_dtypes():
    parity(lambda m, i: i.cumsum(0), const(np.array([1, 2, 3], dtype=np.int32)))   # → int64
    parity(lambda m, b: b.cumsum(0), const(np.array([True, False, True])))


SOFTMAX_DIMS = [0, 1, -1]


@pytest.mark.parametrize("dim", SOFTMAX_DIMS)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax(op, dim):
    parity(lambda m, x: getattr(m, op)(x, dim), rand(3, 4, 5) * 3)
    parity(lambda m, x: getattr(x, op)(dim=dim), rand(2, 3) * 50)        # no overflow


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_with_minus_inf(op):
    x = np.array([[0.5, -np.inf, 1.0, -np.inf], [2.0, 1.0, 0.0, -1.0]])
    parity(lambda m, x: getattr(m, op)(x, -1), x)
    full = np.array([[-np.inf, -np.inf], [0.0, 1.0]])                   # a row of all -inf → NaN
    parity(lambda m, x: getattr(m, op)(x, 1), const(full), grad=False)


def test_softmax_dtype_argument_and_int_input():
    parity(lambda m, x: m.softmax(x, 0, dtype=m.float64), rand(3, 2))
    parity(lambda m, i: m.softmax(i, 0, dtype=m.float32), const(np.array([1, 2, 3])),
           dtypes=("float32",))


TOPK = [dict(k=2), dict(k=3, dim=0), dict(k=1, largest=False), dict(k=4, dim=-1, largest=False),
        dict(k=0)]


@pytest.mark.parametrize("kw", TOPK, ids=str)
def test_topk_values_and_gradient(kw):
    parity(lambda m, x: m.topk(x, **kw), distinct(3, 4, seed=9))
    parity(lambda m, x: x.topk(**kw).values * 2, distinct(3, 4, seed=9))


@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"descending": True}, {"dim": 0, "descending": True}], ids=str)
def test_sort_values_and_gradient(kw):
    parity(lambda m, x: m.sort(x, **kw), distinct(3, 4, seed=11))
    parity(lambda m, x: m.argsort(x, **kw), const(distinct(3, 4, seed=11)))


def test_sort_stable_ties():
    x = np.array([1.0, 0.0, 1.0, 0.0, 2.0])
    parity(lambda m, x: m.sort(x, stable=True), x)
    parity(lambda m, x: m.sort(x, descending=True, stable=True), x)


def test_all_any_count_nonzero():
    b = const(np.array([[True, False], [True, True]]))
    for fn in (lambda m, b: b.all(), lambda m, b: b.any(), lambda m, b: m.all(b, 1),
               lambda m, b: m.any(b, dim=0), lambda m, b: m.count_nonzero(b),
               lambda m, b: m.count_nonzero(b, dim=1)):
        parity(fn, b)


# ------------------------------------------------------------------ random shapes
@pytest.mark.parametrize("trial", range(6))
def test_random_reduction_trials(trial):
    rng = np.random.default_rng(200 + trial)
    nd = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    dims = tuple(sorted(rng.choice(nd, size=int(rng.integers(1, nd + 1)), replace=False).tolist()))
    keep = bool(rng.integers(0, 2))
    x = distinct(*shape, seed=trial)
    for op in ("sum", "mean", "amax", "logsumexp"):
        parity(lambda m, x: getattr(m, op)(x, dims, keepdim=keep), x, what=f"{op}{shape}{dims}")
    parity(lambda m, x: m.var(x, dims, keepdim=keep, correction=0), x, what=f"var{shape}{dims}")


# ------------------------------------------------------------------ gradcheck
GRADCHECK = {
    "sum": lambda m, x: x.sum((0, 2)),
    "mean": lambda m, x: x.mean(-1, keepdim=True),
    "var": lambda m, x: x.var(1),
    "std": lambda m, x: x.std((0, 1), correction=0),
    "prod": lambda m, x: x.prod(1),
    "prod_all": lambda m, x: (x * 0.5).prod(),
    "max_all": lambda m, x: x.max(),
    "max_dim": lambda m, x: x.max(1).values,
    "min_dim": lambda m, x: x.min(0)[0],
    "amax": lambda m, x: m.amax(x, (0, 2)),
    "amin": lambda m, x: m.amin(x, 1),
    "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "norm1": lambda m, x: x.norm(p=1, dim=1),
    "norm2": lambda m, x: x.norm(),
    "norm3": lambda m, x: m.norm(x, 3, dim=(0, 2)),
    "norm_inf": lambda m, x: m.norm(x, float("inf"), dim=-1),
    "cumsum": lambda m, x: x.cumsum(1),
    "softmax": lambda m, x: m.softmax(x, 1),
    "log_softmax": lambda m, x: m.log_softmax(x, 0),
    "topk": lambda m, x: x.topk(2, dim=1).values,
    "sort": lambda m, x: x.sort(0, descending=True).values,
    "std_keepdim": lambda m, x: m.std(x, -1, keepdim=True),
    "var_correction2": lambda m, x: x.var((1, 2), correction=2),
}


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    assert gradcheck(GRADCHECK[name], distinct(2, 3, 4, seed=12))


# ------------------------------------------------------------------ clear errors
def test_reduction_dim_errors():
    x = lw.ones(2, 3)
    with pytest.raises(IndexError, match="out of range"):
        x.sum(2)
    with pytest.raises(IndexError, match="out of range"):
        x.max(-3)
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match="k.*out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="non-empty"):
        lw.ones(0).max()


# ------------------------------------------------------------------ 0-d, empty and constant inputs
ZERO_D = {
    "max_dim": lambda m, x: x.max(0), "min_dim_keepdim": lambda m, x: m.min(x, -1, keepdim=True),
    "argmax_dim": lambda m, x: x.argmax(0), "cumsum": lambda m, x: x.cumsum(0),
    "softmax": lambda m, x: m.softmax(x, 0), "log_softmax": lambda m, x: x.log_softmax(-1),
    "logsumexp": lambda m, x: m.logsumexp(x, 0), "norm": lambda m, x: x.norm(dim=0),
    "prod": lambda m, x: x.prod(0), "sum_keepdim": lambda m, x: x.sum(0, keepdim=True),
    "mean": lambda m, x: x.mean(-1), "amax": lambda m, x: x.amax(0),
    "topk": lambda m, x: x.topk(1), "sort": lambda m, x: x.sort(),
    "gather": lambda m, x: x.gather(0, m.tensor(0)), "index_select": lambda m, x: x.index_select(0, m.tensor([0])),
}


@pytest.mark.parametrize("name", ZERO_D)
def test_zero_d_inputs(name):
    parity(ZERO_D[name], np.array(0.7), what=name)


EMPTY = {
    "mean_all": lambda m, x: m.zeros(0).mean(), "mean_keepdim": lambda m, x: m.zeros(2, 0).mean(1, keepdim=True),
    "mean_dim0": lambda m, x: m.zeros(2, 0).mean(0, keepdim=True), "sum_dim": lambda m, x: m.zeros(2, 0).sum(1),
    "amax_dim": lambda m, x: m.zeros(2, 0).amax(0), "norm": lambda m, x: m.zeros(0).norm(),
    "prod": lambda m, x: m.zeros(0).prod(), "argmax_keepdim": lambda m, x: m.ones(2, 3).argmax(keepdim=True),
    "argmin_all": lambda m, x: m.tensor([[2.0, 0.0], [-1.0, 5.0]]).argmin(),
}


@pytest.mark.parametrize("name", EMPTY)
def test_empty_inputs_and_keepdim(name):
    parity(EMPTY[name], np.zeros(1), grad=False, what=name)


def test_std_of_constant_slice_has_zero_gradient():
    """√var at var = 0: torch masks the 0/0 to 0."""
    parity(lambda m, x: x.std(1), np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]))
    parity(lambda m, x: x.std(), np.array([2.0, 2.0]))
    parity(lambda m, x: x.var(), np.array([2.0, 2.0]))
