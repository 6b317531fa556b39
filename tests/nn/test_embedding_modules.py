"""Embedding and EmbeddingBag layers against torch: output and weight gradient (torch's weights
copied in) in float32 and float64 over index shapes (N,), (N, L), (N, L, K) × padding_idx ×
max_norm (the weight after forward compared with torch's renormalised one) × scale_grad_by_freq;
from_pretrained with freeze on and off; EmbeddingBag modes × offsets × per_sample_weights ×
include_last_offset × padding_idx; torch's init (N(0, 1), padding row zeroed), repr, parameter
names; a few SGD steps; and the error messages, which name the layer."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import sparse
from parity import check_module, const, parity_module, rand

V, D = 10, 3


def NN(m):
    """The layer namespace of either library (layerwise's embeddings live in nn/sparse.py)."""
    return torch.nn if m is torch else sparse


def ints(*shape, seed=0):
    idx = np.random.default_rng(seed).integers(0, V, shape)
    idx.reshape(-1)[:4] = [0, V - 1, 4, 4]      # padding candidates and a repeat always occur
    return idx


# ------------------------------------------------------------------------------------ Embedding
SHAPES = [(6,), (3, 4), (2, 3, 4)]
OPTIONS = [dict(), dict(padding_idx=0), dict(padding_idx=-1), dict(scale_grad_by_freq=True),
           dict(padding_idx=4, scale_grad_by_freq=True)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kw", OPTIONS, ids=str)
def test_embedding_module_grid(kw, shape):
    check_module(lambda m: NN(m).Embedding(V, D, **kw), const(ints(*shape, seed=len(shape))),
                 what=f"Embedding({V}, {D}, {kw}) on {shape}")


@pytest.mark.parametrize("kw", [dict(max_norm=1.0), dict(max_norm=1.3, norm_type=1.0),
                                dict(max_norm=0.8, padding_idx=2, scale_grad_by_freq=True)],
                         ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_embedding_module_max_norm_weight_equals_torchs(kw, shape):
    # rows 0, 2, 4 have norms over max_norm, 5 and 6 under it; 7 and 9 (over) are not looked up
    idx = np.resize([0, 2, 5, 6, 2, 4], shape)
    p = kw.get("norm_type", 2)
    torch.manual_seed(0)                         # the initial weight parity_module builds
    start = torch.nn.Embedding(V, D, **kw).weight.detach().numpy().astype(np.float64)
    big = np.linalg.norm(start, ord=p, axis=1) > kw["max_norm"]
    touched = np.isin(np.arange(V), idx)
    shrunk, kept = touched & big, ~(touched & big)
    assert shrunk.any() and (touched & ~big).any() and (~touched & big).any()
    for lw_mod, th_mod in parity_module(lambda m: NN(m).Embedding(V, D, **kw), const(idx)):
        w_lw, w_th = lw_mod.weight.detach().numpy(), th_mod.weight.detach().numpy()
        np.testing.assert_allclose(w_lw, w_th, rtol=1e-6, atol=1e-7)
        w = w_lw.astype(np.float64)
        np.testing.assert_allclose(np.linalg.norm(w[shrunk], ord=p, axis=1), kw["max_norm"],
                                   rtol=1e-5)
        np.testing.assert_allclose(w[kept], start[kept], rtol=1e-6)     # small or not looked up


@pytest.mark.parametrize("freeze", [True, False])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_from_pretrained(freeze, padding_idx):
    table = rand(V, D, seed=2)
    idx = const(np.array([[1, 2, 1], [9, 0, 5]]))
    make = lambda m: NN(m).Embedding.from_pretrained(m.tensor(table), freeze=freeze,  # noqa: E731
                                                     padding_idx=padding_idx)
    for lw_mod, th_mod in parity_module(make, idx):
        assert lw_mod.weight.requires_grad is (not freeze) is th_mod.weight.requires_grad
        if freeze:
            assert lw_mod.weight.grad is None
    # the padding row is kept as given (not zeroed), and the table is shared, not copied
    t = lw.tensor(table)
    emb = sparse.Embedding.from_pretrained(t, freeze=freeze, padding_idx=padding_idx)
    np.testing.assert_array_equal(emb(lw.tensor(np.array([1]))).detach().numpy()[0], table[1])
    assert np.shares_memory(emb.weight.array, t.array)
    assert repr(emb) == repr(torch.nn.Embedding.from_pretrained(torch.tensor(table),
                                                                padding_idx=padding_idx))


# ------------------------------------------------------------------------------------ EmbeddingBag
IDX = np.array([1, 4, 4, 0, 9, 2, 2, 5, 3, 1, 9, 0])
OFFSETS = [([0, 5, 8], False), ([0, 3, 3, 7, 12], False), ([0, 2, 2, 9, 12], True)]


@pytest.mark.parametrize("padding_idx", [None, 9, -1], ids=str)
@pytest.mark.parametrize("offsets, ilo", OFFSETS, ids=str)
@pytest.mark.parametrize("mode, psw", [("sum", False), ("sum", True), ("mean", False),
                                       ("max", False)], ids=str)
def test_embedding_bag_module_grid(mode, psw, offsets, ilo, padding_idx):
    make = lambda m: NN(m).EmbeddingBag(V, D, mode=mode, include_last_offset=ilo,  # noqa: E731
                                        padding_idx=padding_idx)
    inputs = [const(IDX), const(np.array(offsets))] + ([rand(len(IDX), seed=3)] if psw else [])
    check_module(make, *inputs, what=f"EmbeddingBag {mode} psw={psw} {offsets} ilo={ilo} "
                                     f"padding_idx={padding_idx}")


@pytest.mark.parametrize("kw", [dict(mode="sum"), dict(mode="mean", padding_idx=0),
                                dict(mode="max"), dict(mode="mean", max_norm=1.0),
                                dict(mode="sum", scale_grad_by_freq=True)], ids=str)
def test_embedding_bag_module_2d_input(kw):
    idx = np.array([[1, 2, 3], [3, 2, 1], [0, 5, 0], [5, 7, 7]])    # every index twice
    for lw_mod, th_mod in parity_module(lambda m: NN(m).EmbeddingBag(V, D, **kw), const(idx)):
        np.testing.assert_allclose(lw_mod.weight.detach().numpy(), th_mod.weight.detach().numpy(),
                                   rtol=1e-6, atol=1e-7)


def test_embedding_bag_module_psw_2d_and_from_pretrained():
    idx = np.array([[1, 2, 3], [3, 2, 1]])
    check_module(lambda m: NN(m).EmbeddingBag(V, D, mode="sum"), const(idx), rand(2, 3),
                 call=lambda mod, i, a: mod(i, None, a))
    table = rand(V, D, seed=5)
    for freeze in (True, False):
        make = lambda m: NN(m).EmbeddingBag.from_pretrained(  # noqa: E731
            m.tensor(table), freeze=freeze, mode="max", padding_idx=2)
        for lw_mod, th_mod in parity_module(make, const(idx)):
            assert lw_mod.weight.requires_grad is (not freeze)
        bag = sparse.EmbeddingBag.from_pretrained(lw.tensor(table), mode="max", padding_idx=2)
        assert repr(bag) == repr(make(torch))


# ------------------------------------------------------------------------------------ init, repr
@pytest.mark.parametrize("cls", ["Embedding", "EmbeddingBag"])
def test_init_is_standard_normal_with_the_padding_row_zeroed(cls):
    lw.manual_seed(0)
    layer = getattr(sparse, cls)(2000, 50, padding_idx=-3)
    w = layer.weight.detach().numpy()
    assert layer.padding_idx == 1997 and w.dtype == np.float32 and w.shape == (2000, 50)
    assert not w[1997].any() and np.count_nonzero(w) == w.size - 50
    rest = np.delete(w, 1997, axis=0).astype(np.float64)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    assert abs(np.mean(np.abs(rest) > 1.96) - 0.05) < 0.005           # normal, not uniform
    layer.weight.array[1997] = 5.0
    layer.reset_parameters()
    assert not layer.weight.array[1997].any()
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert sum(p.numel() for p in layer.parameters()) == 2000 * 50
    assert getattr(sparse, cls)(4, 2, dtype=lw.float64).weight.dtype == lw.float64


@pytest.mark.parametrize("make", [
    lambda m: NN(m).Embedding(10, 3),
    lambda m: NN(m).Embedding(10, 3, padding_idx=-1, max_norm=2.0, norm_type=1.0,
                              scale_grad_by_freq=True),
    lambda m: NN(m).EmbeddingBag(10, 3),
    lambda m: NN(m).EmbeddingBag(10, 3, max_norm=1.5, norm_type=3, scale_grad_by_freq=True,
                                 mode="sum", padding_idx=0, include_last_offset=True),
])
def test_repr_matches_torch(make):
    assert repr(make(lw)) == repr(make(torch))


def test_sgd_steps_move_only_looked_up_rows_and_never_the_padding_row():
    lw.manual_seed(1)
    emb = sparse.Embedding(V, D, padding_idx=0)
    start = emb.weight.detach().numpy().copy()
    opt = lw.optim.SGD(emb.parameters(), lr=0.5)
    idx = lw.tensor(np.array([[0, 3, 3], [7, 0, 3]]))
    target = lw.tensor(np.ones((2, 3, D), np.float32))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((emb(idx) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    w = emb.weight.detach().numpy()
    assert losses[-1] < losses[0]
    moved = np.any(w != start, axis=1)
    assert moved.tolist() == [i in (3, 7) for i in range(V)]
    assert not w[0].any()


# ------------------------------------------------------------------------------------ errors
def test_errors_name_the_layer():
    emb = sparse.Embedding(10, 3, padding_idx=0)
    with pytest.raises(IndexError, match=r"^Embedding\(10, 3, padding_idx=0\): index 10 \(at "
                                         r"position \(0, 2\) of input\) is out of range for "
                                         r"num_embeddings=10; valid indices are 0 to 9$"):
        emb(lw.tensor(np.array([[1, 2, 10]])))
    with pytest.raises(TypeError, match=r"^Embedding\(10, 3, padding_idx=0\): expected input to "
                                        r"hold integer indices .* got float32"):
        emb(lw.tensor([[1.0, 2.0]]))
    with pytest.raises(IndexError, match=r"^EmbeddingBag\(10, 3, mode='sum'\): index -2"):
        sparse.EmbeddingBag(10, 3, mode="sum")(lw.tensor(np.array([[1, -2]])))
    with pytest.raises(NotImplementedError, match=r"Embedding\(10, 3\): sparse=True is not "
                                                  r"supported: layerwise has no sparse tensors"):
        sparse.Embedding(10, 3, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True is not supported"):
        sparse.EmbeddingBag(10, 3, sparse=True)
    with pytest.raises(ValueError, match=r"Embedding\(10, 3\): padding_idx must be within "
                                         r"num_embeddings: got -11 for num_embeddings=10"):
        sparse.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(ValueError, match=r"Shape of weight does not match num_embeddings and "
                                         r"embedding_dim: expected \(10, 3\), got \(3, 10\)"):
        sparse.Embedding(10, 3, _weight=lw.zeros(3, 10))
    with pytest.raises(ValueError, match=r"Embedding.from_pretrained: Embeddings parameter is "
                                         r"expected to be 2-dimensional, got shape \(4,\)"):
        sparse.Embedding.from_pretrained(lw.zeros(4))
    with pytest.raises(ValueError, match=r"EmbeddingBag\(10, 3\): mode has to be one of sum, "
                                         r"mean or max, got 'avg'"):
        sparse.EmbeddingBag(10, 3, mode="avg")
    with pytest.raises(ValueError, match="num_embeddings must be a non-negative int, got 2.5"):
        sparse.Embedding(2.5, 3)
