"""scaled_dot_product_attention (the fused op behind it) against torch: forward and the gradients of
query, key, value and a float mask, over a grid of shapes, boolean/additive/broadcast masks,
causal masking, custom scales, grouped-query attention and broadcast batch dims; fully masked
rows (zeros, zero gradients, as torch 2.13); dropout with an injected mask and by its statistics;
the weights output of the op; a float64 gradcheck; and errors that name the shapes."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.backend import asarray
from layerwise.nn import attention
from layerwise.ops.attention import ScaledDotProductAttention
from parity import const, gradcheck, parity, rand


def F(m):
    return torch.nn.functional if m is torch else attention


def sdpa(**kw):
    return lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, **kw)


def sdpa_mask(**kw):
    return lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a, **kw)


def bool_mask(*shape, seed=0, p=0.3):
    """A random boolean mask (True = take part) with at least one True per (L, S) row."""
    rng = np.random.default_rng(seed)
    m = rng.random(shape) > p
    m[..., 0] = True
    return m


# (q shape, k shape, v shape)
SHAPES = [
    ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4)),      # (B, H, L, E), self
    ((2, 4, 3), (2, 6, 3), (2, 6, 5)),               # (B, L, E), S ≠ L, Ev ≠ E
    ((3, 4), (5, 4), (5, 2)),                        # unbatched (L, E)
    ((2, 2, 2, 6), (2, 2, 7, 6), (2, 2, 7, 6)),      # two queries, more keys
    ((2, 3, 4), (1, 5, 4), (1, 5, 4)),               # key/value batch broadcast
]


@pytest.mark.parametrize("qs,ks,vs", SHAPES, ids=str)
@pytest.mark.parametrize("kw", [{}, dict(is_causal=True), dict(scale=0.7)], ids=str)
def test_sdpa_no_mask(qs, ks, vs, kw):
    parity(sdpa(**kw), rand(*qs, seed=1), rand(*ks, seed=2), rand(*vs, seed=3))


# (q shape, S, mask shape)
MASKS = [
    ((2, 3, 5, 4), 5, (5, 5)),
    ((2, 3, 5, 4), 6, (2, 1, 5, 6)),
    ((2, 3, 5, 4), 6, (1, 6)),
    ((2, 3, 5, 4), 6, (2, 3, 5, 6)),
    ((2, 4, 3), 6, (2, 4, 6)),
    ((3, 4), 5, (3, 5)),
    ((2, 4, 3), 6, (6,)),
]


@pytest.mark.parametrize("qs,S,ms", MASKS, ids=str)
def test_sdpa_boolean_mask(qs, S, ms):
    ks = qs[:-2] + (S, qs[-1])
    parity(sdpa_mask(), rand(*qs, seed=1), rand(*ks, seed=2), rand(*ks, seed=3),
           const(bool_mask(*ms)))


@pytest.mark.parametrize("qs,S,ms", MASKS, ids=str)
def test_sdpa_additive_mask_with_its_gradient(qs, S, ms):
    ks = qs[:-2] + (S, qs[-1])
    parity(sdpa_mask(scale=0.4), rand(*qs, seed=1), rand(*ks, seed=2), rand(*ks, seed=3),
           rand(*ms, seed=4))


def test_sdpa_additive_mask_with_minus_inf_entries():
    mask = np.where(bool_mask(4, 6, seed=3), 0.0, -np.inf) + rand(4, 6, seed=5) * 0.1
    parity(sdpa_mask(), rand(2, 4, 3), rand(2, 6, 3, seed=1), rand(2, 6, 3, seed=2), const(mask))


def test_sdpa_float32_mask_with_float64_query_is_allowed_like_torch():
    q, k, v = (lw.tensor(rand(2, 3, 4, seed=i)) for i in range(3))
    m32 = rand(3, 3, seed=9).astype(np.float32)
    got = attention.scaled_dot_product_attention(q, k, v, attn_mask=lw.tensor(m32))
    expect = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(rand(2, 3, 4, seed=i)) for i in range(3)), attn_mask=torch.tensor(m32))
    assert got.dtype == lw.float64
    np.testing.assert_allclose(got.numpy(), expect.numpy(), rtol=1e-12)


@pytest.mark.parametrize("L,S", [(3, 6), (6, 3), (4, 4)])
def test_sdpa_causal_is_top_left_aligned(L, S):
    parity(sdpa(is_causal=True), rand(2, L, 4, seed=1), rand(2, S, 4, seed=2), rand(2, S, 4, seed=3))
    q = lw.tensor(rand(1, L, 4, seed=1))
    k, v = lw.tensor(rand(1, S, 4, seed=2)), lw.tensor(rand(1, S, 4, seed=3))
    allowed = const(np.tril(np.ones((L, S), bool)))
    a = attention.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    b = attention.scaled_dot_product_attention(q, k, v, attn_mask=lw.tensor(allowed.array)).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hq,hk,ms", [(4, 2, None), (6, 2, (6, 3, 5)), (4, 1, (1, 3, 5)),
                                      (4, 2, (2, 4, 3, 5)), (4, 2, (3, 5))])
def test_sdpa_grouped_query_attention(hq, hk, ms):
    q, k, v = rand(2, hq, 3, 4, seed=1), rand(2, hk, 5, 4, seed=2), rand(2, hk, 5, 3, seed=3)
    if ms is None:
        parity(sdpa(enable_gqa=True), q, k, v)
    else:
        parity(sdpa_mask(enable_gqa=True), q, k, v, const(bool_mask(*ms, seed=7)))
        parity(sdpa_mask(enable_gqa=True), q, k, v, rand(*ms, seed=8))


# ------------------------------------------------------------------ fully masked rows
def test_fully_masked_boolean_row_gives_zeros_and_zero_gradients_like_torch():
    m = bool_mask(2, 3, 5, 6)
    m[0, 1, 2, :] = False                      # one row with nothing to attend
    m[1, :, 4, :] = False
    args = (rand(2, 3, 5, 4, seed=1), rand(2, 3, 6, 4, seed=2), rand(2, 3, 6, 4, seed=3))
    parity(sdpa_mask(), *args, const(m))
    q = lw.tensor(args[0], requires_grad=True)
    out = attention.scaled_dot_product_attention(q, lw.tensor(args[1]), lw.tensor(args[2]),
                                                 attn_mask=lw.tensor(m))
    assert (out.detach().numpy()[0, 1, 2] == 0).all() and (out.detach().numpy()[1, :, 4] == 0).all()
    out.sum().backward()
    assert (q.grad.numpy()[0, 1, 2] == 0).all()
    assert np.isfinite(q.grad.numpy()).all()


def test_fully_masked_additive_row_gives_zeros_like_torch():
    m = rand(4, 6, seed=2)
    m[1, :] = -np.inf
    parity(sdpa_mask(), rand(2, 4, 3), rand(2, 6, 3, seed=1), rand(2, 6, 3, seed=2), const(m))
    parity(sdpa_mask(), rand(2, 4, 3), rand(2, 6, 3, seed=1), rand(2, 6, 3, seed=2),
           const(np.full((4, 6), -np.inf)))


# ------------------------------------------------------------------ the op itself
def _torch_reference(q, k, v, scale, keep=None, p=0.0, mask=None):
    s = q @ k.transpose(-1, -2) * scale
    if mask is not None:
        s = s + mask
    w = torch.softmax(s, -1)
    if keep is not None:
        w = w * torch.tensor(keep) / (1 - p)
    return w @ v, w


def test_op_with_an_injected_dropout_mask_matches_torch_math():
    keep = np.random.default_rng(0).random((2, 3, 4, 5)) >= 0.4
    parity(lambda m, q, k, v: (ScaledDotProductAttention.apply(
               q, k, v, scale=0.5, dropout_mask=asarray(keep), dropout_scale=1 / 0.6,
               need_weights=True)
           if m is lw else _torch_reference(q, k, v, 0.5, keep, 0.4)),
           rand(2, 3, 4, 6, seed=1), rand(2, 3, 5, 6, seed=2), rand(2, 3, 5, 2, seed=3))


def test_op_weights_output_and_its_gradient_match_torch_math():
    parity(lambda m, q, k, v, a: (ScaledDotProductAttention.apply(
               q, k, v, a, scale=0.3, need_weights=True)
           if m is lw else _torch_reference(q, k, v, 0.3, mask=a)),
           rand(3, 4, 5, seed=1), rand(3, 6, 5, seed=2), rand(3, 6, 4, seed=3), rand(3, 4, 6, seed=4))


def test_op_nan_rows_for_the_plain_softmax_convention():
    mask = np.zeros((3, 4))
    mask[1] = -np.inf
    out, w = ScaledDotProductAttention.apply(
        lw.tensor(rand(3, 2)), lw.tensor(rand(4, 2, seed=1)), lw.tensor(rand(4, 2, seed=2)),
        lw.tensor(mask), scale=1.0, need_weights=True, empty_rows="nan")
    assert np.isnan(out.numpy()[1]).all() and np.isnan(w.numpy()[1]).all()
    assert np.isfinite(out.numpy()[[0, 2]]).all()
    ref = torch.softmax(torch.tensor(rand(3, 2)) @ torch.tensor(rand(4, 2, seed=1)).T
                        + torch.tensor(mask), -1)
    np.testing.assert_allclose(w.numpy(), ref.numpy(), rtol=1e-12)   # NaN where torch's is NaN


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_statistics(p):
    """q = k = 0 gives uniform weights 1/S; with v = I the output is the dropped weights
    themselves: a fraction ≈ p are 0, the rest are 1/(S(1 − p)), the mean stays 1/S."""
    lw.manual_seed(1)
    S = 64
    q = lw.zeros(8, 32, 4, dtype=lw.float64)
    k = lw.zeros(8, S, 4, dtype=lw.float64)
    v = lw.tensor(np.broadcast_to(np.eye(S), (8, S, S)).copy())
    out = attention.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
    zeros = (out == 0).mean()
    assert abs(zeros - p) < 0.02
    np.testing.assert_allclose(out[out != 0], 1 / (S * (1 - p)), rtol=1e-12)
    assert abs(out.mean() - 1 / S) < 0.05 / S
    lw.manual_seed(1)
    again = attention.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
    np.testing.assert_array_equal(out, again)                   # the seed fixes the mask
    full = attention.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy()
    assert (full == 0).all()


# ------------------------------------------------------------------ gradcheck
GRADCHECK = [
    ("plain", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v), []),
    ("causal", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True), []),
    ("additive", lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
     [(4, 5)]),
    ("boolean", lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
     ["bool"]),
    ("dropout+weights", lambda m, q, k, v: ScaledDotProductAttention.apply(
        q, k, v, scale=0.6, need_weights=True,
        dropout_mask=asarray(np.random.default_rng(3).random((2, 4, 5)) > 0.3),
        dropout_scale=1 / 0.7), []),
]


@pytest.mark.parametrize("name,fn,extra", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, extra):
    ins = [rand(2, 4, 3, seed=1), rand(2, 5, 3, seed=2), rand(2, 5, 2, seed=3)]
    for e in extra:
        ins.append(const(bool_mask(4, 5)) if e == "bool" else rand(*e, seed=4))
    assert gradcheck(fn, *ins)


# ------------------------------------------------------------------ errors
def _t(*shape, dtype=np.float32):
    return rand(*shape).astype(dtype)


ERRORS = [
    ("mask and causal", dict(attn_mask=np.ones((3, 5), bool), is_causal=True), (2, 3, 4), (2, 5, 4),
     (2, 5, 4), r"attn_mask cannot be combined with is_causal"),
    ("mask shape", dict(attn_mask=np.ones((4, 5), bool)), (2, 3, 4), (2, 5, 4), (2, 5, 4),
     r"attn_mask of shape \(4, 5\) does not broadcast to .*\(2, 3, 5\)"),
    ("mask grows the output", dict(attn_mask=np.ones((2, 1, 3, 5), bool)), (2, 3, 4), (2, 5, 4),
     (2, 5, 4), r"\(2, 1, 3, 5\) does not broadcast to .*\(2, 3, 5\)"),
    ("int mask", dict(attn_mask=np.ones((3, 5), np.int64)), (2, 3, 4), (2, 5, 4), (2, 5, 4),
     r"attn_mask must be boolean .* got int64"),
    ("float64 mask, float32 query", dict(attn_mask=np.ones((3, 5))), (2, 3, 4), (2, 5, 4), (2, 5, 4),
     r"float mask of the query's dtype float32, got float64"),
    ("E mismatch", {}, (2, 3, 4), (2, 5, 3), (2, 5, 3), r"same embedding size .*\(2, 3, 4\).*\(2, 5, 3\)"),
    ("S mismatch", {}, (2, 3, 4), (2, 5, 4), (2, 4, 4), r"same sequence length .*\(2, 5, 4\).*\(2, 4, 4\)"),
    ("heads", {}, (2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), r"do not broadcast.*enable_gqa=True"),
    ("gqa divisibility", dict(enable_gqa=True), (2, 4, 3, 4), (2, 3, 5, 4), (2, 3, 5, 4),
     r"key/value heads .* divide the number of query heads"),
    ("1-d", {}, (4,), (4,), (4,), r"at least 2 dims"),
    ("dropout_p", dict(dropout_p=1.5), (2, 3, 4), (2, 5, 4), (2, 5, 4), r"between 0 and 1"),
]


@pytest.mark.parametrize("what,kw,qs,ks,vs,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_torch(what, kw, qs, ks, vs, match):
    def call(m):
        args = {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        F(m).scaled_dot_product_attention(m.tensor(_t(*qs)), m.tensor(_t(*ks)), m.tensor(_t(*vs)),
                                          **args)
    if what != "mask and causal":        # torch's CPU flash kernel accepts both; its math one does not
        with pytest.raises((RuntimeError, ValueError)):
            call(torch)
    with pytest.raises((RuntimeError, ValueError, TypeError), match=match):
        call(lw)


def test_mask_and_causal_is_an_error_in_torchs_math_backend_too():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    q = torch.tensor(_t(2, 3, 4))
    with sdpa_kernel(SDPBackend.MATH), pytest.raises(RuntimeError):
        torch.nn.functional.scaled_dot_product_attention(
            q, q, q, attn_mask=torch.ones(3, 3, dtype=torch.bool), is_causal=True)


def test_dtype_mismatch_error():
    with pytest.raises(TypeError, match="same dtype, got float32, float32 and float64"):
        attention.scaled_dot_product_attention(lw.tensor(_t(2, 3)), lw.tensor(_t(2, 3)),
                                               lw.tensor(_t(2, 3, dtype=np.float64)))


def test_float32_stays_float32():
    q = lw.tensor(_t(2, 3, 4), requires_grad=True)
    out = attention.scaled_dot_product_attention(q, q, q, is_causal=True)
    out.sum().backward()
    assert out.dtype == lw.float32 and q.grad.dtype == lw.float32


# ------------------------------------------------------------------ chunked forward
@pytest.mark.parametrize("case", ["plain", "bool", "float", "causal", "gqa", "broadcast"])
def test_chunked_forward_matches_torch(monkeypatch, case):
    """Large inputs run QKᵀ → softmax → PV in chunks of the first batch dim; force tiny chunks."""
    import layerwise.ops.attention as A
    monkeypatch.setattr(A, "_CHUNK_SCORES", 20)
    q, k, v = rand(5, 2, 3, 4, seed=1), rand(5, 2, 6, 4, seed=2), rand(5, 2, 6, 3, seed=3)
    if case == "plain":
        parity(sdpa(), q, k, v)
    elif case == "bool":
        parity(sdpa_mask(), q, k, v, const(bool_mask(5, 1, 3, 6)))
    elif case == "float":
        parity(sdpa_mask(), q, k, v, rand(5, 2, 3, 6, seed=4))
        parity(sdpa_mask(), q, k, v, rand(3, 6, seed=5))
    elif case == "causal":
        parity(sdpa(is_causal=True), q, k, v)
    elif case == "gqa":
        parity(sdpa_mask(enable_gqa=True), rand(5, 4, 3, 4, seed=1), k, v, rand(5, 4, 3, 6, seed=6))
    else:
        parity(sdpa(), q, rand(1, 2, 6, 4, seed=2), rand(1, 2, 6, 3, seed=3))
    keep = np.random.default_rng(0).random((5, 2, 3, 6)) >= 0.3
    for grad in (True, False):
        parity(lambda m, q, k, v: (ScaledDotProductAttention.apply(
                   q, k, v, scale=0.5, dropout_mask=asarray(keep), dropout_scale=1 / 0.7,
                   need_weights=True)
               if m is lw else _torch_reference(q, k, v, 0.5, keep, 0.3)), q, k, v, grad=grad)


@pytest.mark.parametrize("chunk", [20, 1 << 17])
def test_no_grad_forward_paths_match_the_graph_path(monkeypatch, chunk):
    """Under no_grad the op folds 1/rowsum into P V (no weights kept): same numbers, chunked
    or not, with and without the weights output and an injected dropout mask."""
    import layerwise.ops.attention as A
    monkeypatch.setattr(A, "_CHUNK_SCORES", chunk)
    q, k, v = (lw.tensor(rand(4, 2, 3, 5, seed=i)) for i in range(3))
    mask = lw.tensor(np.where(bool_mask(4, 1, 3, 3, seed=2), 0.0, -np.inf))
    mask.array[1, 0, 2] = -np.inf                                   # a fully masked row
    keep = asarray(np.random.default_rng(0).random((4, 2, 3, 3)) >= 0.3)   # an option: on the device
    for kw in ({}, dict(need_weights=True), dict(dropout_mask=keep, dropout_scale=1 / 0.7),
               dict(dropout_mask=keep, dropout_scale=1 / 0.7, need_weights=True)):
        graph = ScaledDotProductAttention.apply(*(t.detach().requires_grad_() for t in (q, k, v)),
                                                mask, scale=0.4, **kw)
        with lw.no_grad():
            plain = ScaledDotProductAttention.apply(q, k, v, mask, scale=0.4, **kw)
        for a, b in zip(plain if isinstance(plain, tuple) else [plain],
                        graph if isinstance(graph, tuple) else [graph]):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-15)
        first = (plain[0] if isinstance(plain, tuple) else plain).numpy()
        assert (first[1, :, 2] == 0).all()
