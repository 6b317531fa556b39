"""embedding / embedding_bag (functional forms) against torch, forward and weight gradient in
float32 and float64: index shapes (N,), (N, L), (N, L, K) and 0-d; padding_idx (also negative),
scale_grad_by_freq, max_norm (the renormalised weight itself is compared with torch's) with
several norm types; EmbeddingBag modes × offsets (empty bags, include_last_offset) ×
per_sample_weights × padding_idx and 2-D inputs; the two places where torch 2.13's CPU
EmbeddingBag is wrong are checked against an oracle built from torch's correct ops instead;
float64 gradchecks; the scatter-add; and the error messages."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import sparse
from layerwise.ops.embedding import scatter_add_rows
from parity import assert_close, const, distinct, gradcheck, parity, rand

V, D = 7, 4


def F(m):
    """The functional namespace of either library (layerwise's embeddings live in nn/sparse.py)."""
    return torch.nn.functional if m is torch else sparse


def ints(*shape, high=V, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape)


# ------------------------------------------------------------------------------------ embedding
SHAPES = [(), (9,), (3, 5), (2, 3, 4)]
OPTIONS = [
    dict(),
    dict(padding_idx=0),
    dict(padding_idx=3),
    dict(padding_idx=-1),                       # normalised to V - 1
    dict(scale_grad_by_freq=True),
    dict(scale_grad_by_freq=True, padding_idx=2),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kw", OPTIONS, ids=str)
def test_embedding_grid(kw, shape):
    idx = ints(*shape, seed=len(shape))
    if shape:                                   # make sure the padding index and repeats occur
        idx.reshape(-1)[:3] = [0, V - 1, 3]
    parity(lambda m, w, i: F(m).embedding(i, w, **kw), rand(V, D), const(idx),
           what=f"embedding{shape} {kw}")


def test_embedding_int32_indices_and_empty_input():
    parity(lambda m, w, i: F(m).embedding(i, w), rand(V, D), const(ints(4, 3).astype(np.int32)))
    parity(lambda m, w, i: F(m).embedding(i, w), rand(V, D),
           const(np.zeros((2, 0), np.int64)), what="empty")


def _both(weight, dtype):
    a = weight.astype(dtype)
    return lw.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (2.5, 2.0), (1.5, 1.0), (1.2, 3.5),
                                                 (1.0, float("inf"))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_embedding_max_norm_renormalises_the_weight_in_place_as_torch(max_norm, norm_type, dtype):
    weight = rand(V, D, seed=3) * 1.5
    idx = np.array([[1, 1, 2], [5, 0, 2]])
    w_lw, w_th = _both(weight, dtype)
    z_lw = sparse.embedding(lw.tensor(idx), w_lw, max_norm=max_norm, norm_type=norm_type)
    z_th = torch.nn.functional.embedding(torch.tensor(idx), w_th, max_norm=max_norm,
                                         norm_type=norm_type)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    # the weight itself: looked-up rows over max_norm shrunk to it, the others untouched
    assert_close(w_lw.detach().numpy(), w_th.detach().numpy(), tol, "renormalised weight")
    norms = np.linalg.norm(weight, ord=norm_type, axis=1)
    looked_up = np.isin(np.arange(V), idx)
    changed = np.any(w_lw.detach().numpy() != weight.astype(dtype), axis=1)
    assert (changed == (looked_up & (norms > max_norm))).all() and changed.any()
    new_norms = np.linalg.norm(w_lw.detach().numpy().astype(np.float64), ord=norm_type, axis=1)
    np.testing.assert_allclose(new_norms[changed], max_norm, rtol=1e-5)
    assert w_lw._version[0] == 1                # an in-place change, as torch's
    assert_close(z_lw.detach().numpy(), z_th.detach().numpy(), tol, "output")
    g = np.random.default_rng(0).standard_normal(z_th.shape).astype(dtype)
    (z_lw * lw.tensor(g)).sum().backward()
    (z_th * torch.tensor(g)).sum().backward()
    assert_close(w_lw.grad.numpy(), w_th.grad.numpy(), 10 * tol, "weight grad")


def test_max_norm_with_padding_and_frequency_scaling():
    idx = np.array([0, 3, 3, 6, 6, 6, 1])
    parity(lambda m, w, i: F(m).embedding(i, w, padding_idx=6, max_norm=1.1,
                                          scale_grad_by_freq=True),
           rand(V, D, seed=5), const(idx), what="max_norm + padding + sgbf")


def test_scale_grad_by_freq_divides_each_row_by_its_count():
    w = lw.tensor(rand(V, D), requires_grad=True)
    idx = np.array([[2, 2, 2], [4, 2, 0]])
    sparse.embedding(lw.tensor(idx), w, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 0, 1, 0, 1, 0, 0])


# ------------------------------------------------------------------------------------ embedding_bag
IDX = np.array([1, 4, 4, 0, 6, 2, 2, 5, 3, 1, 6, 0])                     # 12 indices
BAGS = [
    ("one bag", [0], False),
    ("three bags", [0, 5, 8], False),
    ("empty bags", [0, 3, 3, 7, 12], False),                           # bag 1 and the last empty
    ("last offset", [0, 2, 2, 9, 12], True),                           # CSR: 4 bags
    ("last offset, empty", [0, 0, 12, 12], True),
]
PADDING = [None, 6, -1, 2]


def bag_fn(mode, padding_idx, include_last_offset, psw=False):
    def fn(m, w, i, off, *a):
        return F(m).embedding_bag(i, w, off, mode=mode, padding_idx=padding_idx,
                                  include_last_offset=include_last_offset,
                                  per_sample_weights=a[0] if psw else None)
    return fn


@pytest.mark.parametrize("padding_idx", PADDING, ids=str)
@pytest.mark.parametrize("name, offsets, ilo", BAGS, ids=[b[0] for b in BAGS])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_grid(mode, name, offsets, ilo, padding_idx):
    w = distinct(V, D, seed=1)                   # no ties between different rows (max mode)
    parity(bag_fn(mode, padding_idx, ilo), w, const(IDX), const(np.array(offsets)),
           what=f"embedding_bag {mode} {name} padding_idx={padding_idx}")


@pytest.mark.parametrize("padding_idx", PADDING, ids=str)
@pytest.mark.parametrize("name, offsets, ilo", BAGS, ids=[b[0] for b in BAGS])
def test_embedding_bag_per_sample_weights(name, offsets, ilo, padding_idx):
    """Both gradients, of the weight and of per_sample_weights (padding entries get 0)."""
    parity(bag_fn("sum", padding_idx, ilo, psw=True), rand(V, D), const(IDX),
           const(np.array(offsets)), rand(len(IDX), seed=4),
           what=f"embedding_bag psw {name} padding_idx={padding_idx}")


@pytest.mark.parametrize("kw", [dict(mode="sum"), dict(mode="mean"), dict(mode="max"),
                                dict(mode="mean", padding_idx=0), dict(mode="max", padding_idx=3)],
                         ids=str)
def test_embedding_bag_2d_input(kw):
    idx = ints(5, 3, seed=2)
    idx[1] = 3                                   # a bag of padding only (when padding_idx=3)
    idx[2, 0] = 0
    parity(lambda m, w, i: F(m).embedding_bag(i, w, **kw), distinct(V, D, seed=2), const(idx),
           what=f"embedding_bag 2-D {kw}")
    parity(lambda m, w, i, a: F(m).embedding_bag(i, w, mode="sum", per_sample_weights=a),
           rand(V, D), const(idx), rand(5, 3), what="embedding_bag 2-D psw")


def test_embedding_bag_int32_and_max_norm():
    parity(lambda m, w, i, o: F(m).embedding_bag(i, w, o, mode="sum"), rand(V, D),
           const(IDX.astype(np.int32)), const(np.array([0, 4], np.int32)), what="int32")
    parity(lambda m, w, i, o: F(m).embedding_bag(i, w, o, max_norm=1.0, mode="mean"),
           rand(V, D), const(IDX), const(np.array([0, 4])), what="max_norm")


def test_embedding_bag_max_gradient_goes_to_the_first_maximum():
    w = lw.tensor(np.array([[1., 2.], [1., 3.], [0., 3.]]), requires_grad=True)
    out = sparse.embedding_bag(lw.tensor(np.array([2, 1, 0])), w, lw.tensor(np.array([0])),
                               mode="max")
    out.sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), [[1, 3]])
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [1, 0], [0, 1]])   # torch's rows


def _torch_bag_oracle(w, idx, offsets, mode, padding_idx=None, scale_grad_by_freq=False):
    """EmbeddingBag from torch's (correct) embedding: per-index rows, then per-bag sums/means."""
    rows = torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=padding_idx,
                                         scale_grad_by_freq=scale_grad_by_freq)
    bounds = list(offsets)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        keep = [i for i in range(a, b) if idx[i] != padding_idx]
        if not keep:
            out.append(torch.zeros(w.shape[1], dtype=w.dtype))
        elif mode == "sum":
            out.append(rows[keep].sum(0))
        elif mode == "mean":
            out.append(rows[keep].mean(0))
        else:
            out.append(rows[keep].max(0).values)
    return torch.stack(out)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_scale_grad_by_freq(mode, padding_idx):
    """Where every index occurs equally often torch's CPU kernel is right: plain parity.  With
    mixed counts it divides some rows by another row's count (pytorch#190063), so the reference
    is torch's embedding(scale_grad_by_freq=True) pooled per bag."""
    even = np.array([3, 1, 3, 5, 1, 5, 2, 2])
    parity(lambda m, w, i, o: F(m).embedding_bag(i, w, o, mode=mode, scale_grad_by_freq=True,
                                                 padding_idx=padding_idx),
           rand(V, D), const(even), const(np.array([0, 3, 3])), what=f"sgbf even {mode}")
    offsets = [0, 5, 8, 12]
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        w_lw, w_th = _both(rand(V, D), dtype)
        out = sparse.embedding_bag(lw.tensor(IDX), w_lw, lw.tensor(np.array(offsets[:-1])),
                                   mode=mode, scale_grad_by_freq=True, padding_idx=padding_idx)
        ref = _torch_bag_oracle(w_th, IDX, offsets, mode, padding_idx, True)
        assert_close(out.detach().numpy(), ref.detach().numpy(), tol, "forward")
        g = rand(3, D, seed=8).astype(dtype)
        (out * lw.tensor(g)).sum().backward()
        (ref * torch.tensor(g)).sum().backward()
        assert_close(w_lw.grad.numpy(), w_th.grad.numpy(), tol, f"sgbf {mode} grad")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset_ignores_indices_after_the_last_offset(mode, dtype):
    """Indices after offsets[-1] belong to no bag (CSR).  torch 2.13's CPU kernel agrees only for
    float32 'sum'; for 'mean', 'max' and float64 it folds them into the last bag.  Reference:
    torch's embedding pooled per bag."""
    offsets = [0, 4, 9]                          # indices 9..11 belong to no bag
    tol = 1e-5 if dtype == np.float32 else 1e-12
    w_lw, w_th = _both(distinct(V, D, seed=6), dtype)
    out = sparse.embedding_bag(lw.tensor(IDX), w_lw, lw.tensor(np.array(offsets)), mode=mode,
                               include_last_offset=True)
    ref = _torch_bag_oracle(w_th, IDX, offsets, mode)
    assert_close(out.detach().numpy(), ref.detach().numpy(), tol, "forward")
    out.sum().backward()
    ref.sum().backward()
    assert_close(w_lw.grad.numpy(), w_th.grad.numpy(), tol, "grad")
    if mode == "sum" and dtype == np.float32:    # where torch itself gets it right
        th = torch.nn.functional.embedding_bag(torch.tensor(IDX), w_th.detach(),
                                               torch.tensor(offsets), mode=mode,
                                               include_last_offset=True)
        assert_close(out.detach().numpy(), th.numpy(), tol, "torch sum")


# ------------------------------------------------------------------------------------ gradcheck
def test_gradcheck_embedding_float64():
    """padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the
    derivative of the output), so the finite-difference check is of the plain lookup."""
    gradcheck(lambda m, w, i: sparse.embedding(i, w), rand(V, D), const(ints(2, 3, 4, seed=7)))
    gradcheck(lambda m, w, i: sparse.embedding(i, w, max_norm=1e9), rand(V, D),
              const(np.array([[1, 1, 3], [0, 6, 1]])))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck_embedding_bag_float64(mode):
    off = const(np.array([0, 3, 3, 7]))
    gradcheck(lambda m, w, i, o: sparse.embedding_bag(i, w, o, mode=mode, padding_idx=2),
              distinct(V, D, seed=3), const(IDX), off)


def test_gradcheck_embedding_bag_per_sample_weights_float64():
    gradcheck(lambda m, w, i, o, a: sparse.embedding_bag(i, w, o, mode="sum",
                                                         per_sample_weights=a, padding_idx=4),
              rand(V, D), const(IDX), const(np.array([0, 5, 5, 9])), rand(len(IDX), seed=9))


# ------------------------------------------------------------------------------------ scatter-add
@pytest.mark.parametrize("m, d, n", [(7, 3, 10), (5, 2, 6), (0, 3, 4), (1, 3, 4),
                                     (3000, 8, 5),        # few distinct ids: sort and sum
                                     (3000, 8, 2000)])    # many: flat add.at (in chunks)
def test_scatter_add_rows_equals_a_python_loop(m, d, n, monkeypatch):
    ids = np.random.default_rng(m).integers(0, n, m)
    rows = rand(m, d, seed=m)
    expected = np.zeros((n, d))
    for i, k in enumerate(ids):
        expected[k] += rows[i]
    np.testing.assert_allclose(scatter_add_rows(rows, ids, n), expected, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr("layerwise.ops.embedding._CHUNK", 2 * d)      # two rows per chunk
    np.testing.assert_allclose(scatter_add_rows(rows, ids, n), expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ errors
def test_index_errors_name_the_index_and_num_embeddings():
    w = lw.randn(V, D)
    with pytest.raises(IndexError, match=r"embedding: index 7 \(at position \(1, 0\) of input\) "
                                         r"is out of range for num_embeddings=7; valid indices "
                                         r"are 0 to 6"):
        sparse.embedding(lw.tensor(np.array([[1, 2], [7, 3]])), w)
    with pytest.raises(IndexError, match=r"index -1 \(at position 2 of input\) is out of range "
                                         r"for num_embeddings=7"):
        sparse.embedding(lw.tensor(np.array([0, 6, -1])), w)
    with pytest.raises(IndexError, match="embedding_bag: index 9 .*num_embeddings=7"):
        sparse.embedding_bag(lw.tensor(np.array([9])), w, lw.tensor(np.array([0])))


def test_index_dtype_and_argument_errors():
    w = lw.randn(V, D)
    with pytest.raises(TypeError, match=r"embedding: expected input to hold integer indices "
                                        r"\(int64 or int32\), got float32.*\.long\(\)"):
        sparse.embedding(lw.tensor([1.0, 2.0]), w)
    with pytest.raises(TypeError, match="got bool"):
        sparse.embedding(lw.tensor([True]), w)
    with pytest.raises(TypeError, match="expected input to be an integer Tensor of indices, "
                                        "got list"):
        sparse.embedding([1, 2], w)
    with pytest.raises(RuntimeError, match=r"'weight' must be 2-D .* got shape \(4,\)"):
        sparse.embedding(lw.tensor([1]), w[0])
    with pytest.raises(ValueError, match=r"padding_idx must be within num_embeddings: got 7 for "
                                         r"num_embeddings=7 \(valid: -7 to 6\)"):
        sparse.embedding(lw.tensor([1]), w, padding_idx=7)
    with pytest.raises(NotImplementedError, match="sparse=True is not supported"):
        sparse.embedding(lw.tensor([1]), w, sparse=True)


def test_embedding_bag_argument_errors():
    w, idx = lw.randn(V, D), lw.tensor(IDX)
    off = lw.tensor(np.array([0, 4]))
    eb = sparse.embedding_bag
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        eb(idx, w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        eb(lw.tensor(np.zeros((2, 2), np.int64)), w, off)
    with pytest.raises(ValueError, match="input has to be 1D or 2D Tensor, but got Tensor of "
                                         "dimension 3"):
        eb(lw.tensor(np.zeros((1, 1, 1), np.int64)), w)
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0.*got 1"):
        eb(idx, w, lw.tensor(np.array([1, 4])))
    with pytest.raises(RuntimeError, match=r"offsets\[-1\] can not be greater than the input's "
                                           r"length 12, but got offsets\[-1\] of 13"):
        eb(idx, w, lw.tensor(np.array([0, 13])))
    with pytest.raises(RuntimeError, match=r"offsets must be non-decreasing, but offsets\[1\] = 6 "
                                           r"> offsets\[2\] = 2"):
        eb(idx, w, lw.tensor(np.array([0, 6, 2])))
    with pytest.raises(RuntimeError, match="include_last_offset: number of offsets should be at "
                                           "least 1"):
        eb(idx, w, lw.tensor(np.array([], np.int64)), include_last_offset=True)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max, got 'min'"):
        eb(idx, w, off, mode="min")
    with pytest.raises(ValueError, match="max mode does not support scaling the gradient"):
        eb(idx, w, off, mode="max", scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for "
                                                  "mode='sum' \\(got mode='mean'\\)"):
        eb(idx, w, off, per_sample_weights=lw.rand(12))
    with pytest.raises(ValueError, match=r"per_sample_weights \(11,\) is not None, then it must "
                                         r"have the same shape as the input \(12,\)"):
        eb(idx, w, off, mode="sum", per_sample_weights=lw.rand(11))
    with pytest.raises(TypeError, match="per_sample_weights dtype float64 does not match the "
                                        "weight dtype float32"):
        eb(idx, w, off, mode="sum", per_sample_weights=lw.rand(12, dtype=lw.float64))
    with pytest.raises(TypeError, match="expected integer offsets"):
        eb(idx, w, lw.tensor([0.0]))
    with pytest.raises(TypeError, match="expected a floating point weight, got int64"):
        eb(idx, lw.ones(V, D, dtype=lw.int64), off)


def test_offsets_of_zero_bags_and_integer_weights():
    w = lw.randn(V, D, requires_grad=True)
    out = sparse.embedding_bag(lw.tensor(IDX), w, lw.tensor(np.array([], np.int64)))
    assert tuple(out.shape) == (0, D)
    # integer tables: a plain lookup (as torch), no gradient
    table = lw.tensor(np.arange(V * 2).reshape(V, 2))
    z = sparse.embedding(lw.tensor(np.array([3, 0])), table)
    assert z.dtype == lw.int64 and not z.requires_grad
    np.testing.assert_array_equal(z.numpy(), [[6, 7], [0, 1]])


def test_max_norm_errors_leave_the_weight_alone():
    w = lw.randn(V, D)
    before = w.numpy().copy()
    with pytest.raises(IndexError):
        sparse.embedding(lw.tensor(np.array([1, 9])), w, max_norm=0.1)
    with pytest.raises(ValueError, match="padding_idx"):
        sparse.embedding_bag(lw.tensor(IDX), w, lw.tensor(np.array([0])), max_norm=0.1,
                             padding_idx=10)
    np.testing.assert_array_equal(w.numpy(), before)


def test_changing_the_indices_in_place_before_backward_is_caught():
    """The indices are saved for backward (as torch does); their version counter guards them."""
    w = lw.tensor(rand(V, D), requires_grad=True)
    idx = lw.tensor(np.array([1, 2, 2]))
    z = sparse.embedding(idx, w)
    idx[0] = 4
    with pytest.raises(RuntimeError, match="needed for the gradient of EmbeddingOp was modified "
                                           "by an in-place operation"):
        z.sum().backward()
    bags = lw.tensor(np.array([[1, 2], [2, 3]]))
    z = sparse.embedding_bag(bags, w, mode="sum", per_sample_weights=lw.rand(2, 2, dtype=w.dtype))
    bags.add_(1)
    with pytest.raises(RuntimeError, match="gradient of EmbeddingBagOp was modified"):
        z.sum().backward()
    z = sparse.embedding(lw.tensor(np.array([3])), w)
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.sum().backward()
