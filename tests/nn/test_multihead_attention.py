"""MultiheadAttention (and multi_head_attention_forward) against torch: outputs, attention weights,
input and parameter gradients with torch's weights over a declarative grid of layer configs ×
calls (self/cross attention, boolean/float/3-D attn masks, key_padding_mask, the is_causal hint,
need_weights with and without averaging, dropout=0 in train mode, batch_first, unbatched), fully
masked rows (NaN with need_weights=True, zeros without), dropout statistics, torch's init,
state-dict keys, a float64 gradcheck, and errors that name the shapes."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import attention
from parity import assert_close, check_module, const, rand

E, H = 8, 2
L, S, N = 4, 5, 3


def NN(m):
    return torch.nn if m is torch else attention


def mha(**kw):
    return lambda m: NN(m).MultiheadAttention(E, H, **kw)


def _perturb(make):
    """Biases are zero at init: move every parameter so their gradients are exercised."""
    def build(m):
        mod = make(m)
        if m is torch:
            with torch.no_grad():
                for i, p in enumerate(mod.parameters()):
                    p.add_(torch.tensor(rand(*p.shape, seed=60 + i) * 0.2, dtype=p.dtype))
        return mod
    return build


def causal_bool(l, s):
    return np.triu(np.ones((l, s), bool), 1)                     # True = masked out


def some_masked(*shape, seed=0):
    """A boolean True-masks-out mask that leaves key 0 free in every row (no empty rows)."""
    m = np.random.default_rng(seed).random(shape) < 0.35
    m[..., 0] = False
    return m


def float_mask(*shape, seed=0):
    return np.where(some_masked(*shape, seed=seed), -np.inf, rand(*shape, seed=seed + 1) * 0.5)


CONFIGS = {
    "default": {},
    "batch_first": dict(batch_first=True),
    "no_bias": dict(bias=False),
    "kdim_vdim": dict(kdim=3, vdim=6),
    "bias_kv": dict(add_bias_kv=True),
    "zero_attn": dict(add_zero_attn=True),
    "kv_all": dict(kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True, batch_first=True),
    "dropout0": dict(dropout=0.0, batch_first=True),
}


def _inputs(cfg, self_attn, batched=True, l=L, s=S):
    kdim, vdim = cfg.get("kdim", E), cfg.get("vdim", E)
    bf = cfg.get("batch_first", False)
    shape = (lambda t, d: ((N, t, d) if bf else (t, N, d))) if batched else (lambda t, d: (t, d))
    q = rand(*shape(l, E), seed=1)
    if self_attn:
        return [q]
    return [q, rand(*shape(s, kdim), seed=2), rand(*shape(s, vdim), seed=3)]


# name: (self attention?, call kwargs builder (given l, s) -> dict of masks and flags)
CALLS = {
    "plain": (True, lambda l, s, n: {}),
    "cross": (False, lambda l, s, n: {}),
    "no_weights": (False, lambda l, s, n: dict(need_weights=False)),
    "per_head_weights": (False, lambda l, s, n: dict(average_attn_weights=False)),
    "bool_attn_mask": (False, lambda l, s, n: dict(attn_mask=const(some_masked(l, s)))),
    "float_attn_mask": (False, lambda l, s, n: dict(attn_mask=const(float_mask(l, s)))),
    "float_attn_mask_grad": (False, lambda l, s, n: dict(attn_mask=rand(l, s, seed=9))),   # gets a grad
    "3d_float_mask_grad": (False, lambda l, s, n: dict(attn_mask=rand(n * H, l, s, seed=10),
                                                       need_weights=False)),
    "3d_attn_mask": (False, lambda l, s, n: dict(attn_mask=const(some_masked(n * H, l, s, seed=4)))),
    "bool_kpm": (False, lambda l, s, n: dict(key_padding_mask=const(some_masked(n, s, seed=5)))),
    "float_kpm_no_weights": (False, lambda l, s, n: dict(
        key_padding_mask=const(float_mask(n, s, seed=6)), need_weights=False)),
    "kpm_and_mask": (False, lambda l, s, n: dict(key_padding_mask=const(some_masked(n, s, seed=7)),
                                                 attn_mask=const(some_masked(l, s, seed=8)))),
    "causal_hint_weights": (True, lambda l, s, n: dict(attn_mask=const(causal_bool(l, l)),
                                                       is_causal=True)),
    "causal_hint_no_weights": (True, lambda l, s, n: dict(attn_mask=const(causal_bool(l, l)),
                                                          is_causal=True, need_weights=False)),
}


def _run(cfg_name, call_name, batched=True, train=True):
    cfg = CONFIGS[cfg_name]
    self_attn, kw_of = CALLS[call_name]
    n = N if batched else 1
    kw = kw_of(L, L if self_attn else S, n)
    if not batched and "key_padding_mask" in kw:
        kw["key_padding_mask"] = const(kw["key_padding_mask"].array[0])
    ins = _inputs(cfg, self_attn, batched)
    names = list(kw)
    values = [kw[k] for k in names]

    def call(mod, *xs):
        q, k, v = (xs[0], xs[0], xs[0]) if self_attn else xs[:3]
        extra = dict(zip(names, xs[len(ins):]))
        return mod(q, k, v, **extra)
    check_module(_perturb(mha(**cfg)), *ins, *values, call=call, train=train,
                 what=f"{cfg_name}/{call_name}")


@pytest.mark.parametrize("call_name", list(CALLS))
def test_calls_default_layer(call_name):
    _run("default", call_name)


CONFIG_GRID = [(c, call) for c in CONFIGS if c != "default"
               for call in ("plain", "cross", "kpm_and_mask", "float_kpm_no_weights", "per_head_weights")
               if not (call == "plain" and "kdim" in CONFIGS[c])]   # self-attention needs kdim = E


@pytest.mark.parametrize("cfg_name,call_name", CONFIG_GRID, ids=str)
def test_configs(cfg_name, call_name):
    _run(cfg_name, call_name)


@pytest.mark.parametrize("cfg_name", ["default", "kv_all", "bias_kv"])
@pytest.mark.parametrize("call_name", ["cross", "bool_kpm", "no_weights", "3d_attn_mask"])
def test_unbatched(cfg_name, call_name):
    if call_name == "3d_attn_mask":                        # (num_heads, L, S) for unbatched input
        cfg = CONFIGS[cfg_name]
        ins = _inputs(cfg, False, batched=False)
        check_module(_perturb(mha(**cfg)), *ins, const(some_masked(H, L, S, seed=4)),
                     call=lambda mod, q, k, v, a: mod(q, k, v, attn_mask=a))
        return
    _run(cfg_name, call_name, batched=False)


@pytest.mark.parametrize("call_name", ["cross", "bool_attn_mask", "no_weights"])
def test_eval_mode(call_name):
    _run("default", call_name, train=False)


def test_eval_no_grad_matches_torchs_fast_path():
    """In eval mode under no_grad torch takes its native fused kernel; same numbers."""
    x = rand(N, L, E, seed=1).astype(np.float32)
    th = torch.nn.MultiheadAttention(E, H, batch_first=True).eval()
    ours = attention.MultiheadAttention(E, H, batch_first=True).eval()
    ours.load_state_dict({k: lw.tensor(v.numpy()) for k, v in th.state_dict().items()})
    kpm = some_masked(N, L, seed=3)
    for kw in ({}, dict(need_weights=False), dict(key_padding_mask=kpm)):
        with torch.no_grad():
            tx = torch.tensor(x)
            targs = {k: torch.tensor(v) for k, v in kw.items() if k == "key_padding_mask"}
            to, tw = th(tx, tx, tx, **{**kw, **targs})
        with lw.no_grad():
            lx = lw.tensor(x)
            largs = {k: lw.tensor(v) for k, v in kw.items() if k == "key_padding_mask"}
            lo, lw_w = ours(lx, lx, lx, **{**kw, **largs})
        assert_close(lo.numpy(), to.numpy(), 1e-5, f"fast path output {kw}")
        if tw is None:
            assert lw_w is None
        else:
            assert_close(lw_w.numpy(), tw.numpy(), 1e-5, f"fast path weights {kw}")


# ------------------------------------------------------------------ fully masked rows
def test_fully_masked_rows_nan_with_weights_zero_without():
    kpm = some_masked(N, S, seed=1)
    kpm[1] = True                                      # sample 1 may attend nothing
    am = some_masked(L, S, seed=2)
    am[2] = True                                       # query 2 may attend nothing
    for kw in (dict(key_padding_mask=const(kpm)), dict(attn_mask=const(am))):
        name = list(kw)[0]
        # need_weights=True: the plain softmax's 0/0 (NaN rows); forward only (gradients are NaN)
        check_module(mha(), *_inputs({}, False), kw[name], grad=False,
                     call=lambda mod, q, k, v, m: mod(q, k, v, **{name: m}))
        # need_weights=False: torch's SDPA kernel gives zero rows, with finite gradients
        check_module(_perturb(mha()), *_inputs({}, False), kw[name],
                     call=lambda mod, q, k, v, m: mod(q, k, v, need_weights=False, **{name: m}))
    mod = attention.MultiheadAttention(E, H)
    q, k, v = (lw.tensor(a.astype(np.float32)) for a in _inputs({}, False))
    out, w = mod(q, k, v, key_padding_mask=lw.tensor(kpm))
    assert np.isnan(out.detach().numpy()[:, 1]).all() and np.isnan(w.detach().numpy()[1]).all()
    assert np.isfinite(out.detach().numpy()[:, [0, 2]]).all()
    out, w = mod(q, k, v, key_padding_mask=lw.tensor(kpm), need_weights=False)
    assert w is None and np.isfinite(out.detach().numpy()).all()
    np.testing.assert_allclose(out.detach().numpy()[:, 1],
                               np.broadcast_to(mod.out_proj.bias.detach().numpy(), (L, E)))


# ------------------------------------------------------------------ dropout
def test_dropout_in_train_mode_by_its_statistics_and_off_in_eval():
    lw.manual_seed(0)
    mod = attention.MultiheadAttention(16, 2, dropout=0.4, batch_first=True).double()
    x = lw.tensor(rand(4, 24, 16, seed=3))
    _, w = mod(x, x, x, average_attn_weights=False)
    w = w.detach().numpy()
    assert abs((w == 0).mean() - 0.4) < 0.03
    _, w_plain = mod.eval()(x, x, x, average_attn_weights=False)
    w_plain = w_plain.detach().numpy()
    kept = w != 0
    np.testing.assert_allclose(w[kept], w_plain[kept] / 0.6, rtol=1e-12)   # kept ones scaled 1/(1-p)
    np.testing.assert_allclose(w_plain.sum(-1), 1.0, rtol=1e-12)
    mod.train()
    out1, _ = mod(x, x, x, need_weights=False)
    out2, _ = mod(x, x, x, need_weights=False)
    assert not np.allclose(out1.detach().numpy(), out2.detach().numpy())      # fresh masks


def test_dropout_zero_in_train_mode_matches_torch():
    _run("dropout0", "kpm_and_mask", train=True)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("kw", [{}, dict(kdim=3, vdim=5), dict(add_bias_kv=True, bias=False),
                                dict(add_bias_kv=True, kdim=4)], ids=str)
def test_parameters_state_dict_and_repr_like_torch(kw):
    a, b = attention.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)
    assert [(n, tuple(p.shape)) for n, p in a.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in b.named_parameters()]
    assert list(a.state_dict()) == list(b.state_dict())
    assert repr(a) == repr(b)
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())


def test_init_like_torch():
    lw.manual_seed(3)
    e = 64
    mod = attention.MultiheadAttention(e, 4, add_bias_kv=True)
    w = mod.in_proj_weight.detach().numpy()
    bound = np.sqrt(6.0 / (e + 3 * e))               # xavier_uniform over the whole (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert (mod.in_proj_bias.detach().numpy() == 0).all()
    assert (mod.out_proj.bias.detach().numpy() == 0).all()
    ow = mod.out_proj.weight.detach().numpy()       # Linear's default U(−1/√E, 1/√E)
    assert np.abs(ow).max() <= 1 / np.sqrt(e) and np.abs(ow).max() > 0.95 / np.sqrt(e)
    bk = np.concatenate([mod.bias_k.detach().numpy().ravel(), mod.bias_v.detach().numpy().ravel()])
    assert abs(bk.std() - np.sqrt(2.0 / (2 * e))) < 0.3 * np.sqrt(1.0 / e)   # xavier_normal
    sep = attention.MultiheadAttention(e, 4, kdim=16, vdim=32)
    kw = sep.k_proj_weight.detach().numpy()
    assert np.abs(kw).max() <= np.sqrt(6.0 / (e + 16))
    assert np.abs(kw).max() > 0.9 * np.sqrt(6.0 / (e + 16))


# ------------------------------------------------------------------ functional
def _functional_args(m, static, dtype):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, H, add_bias_kv=not static).to(torch.float64)
    ps = {k: v.detach().numpy().astype(dtype) for k, v in ref.state_dict().items()}
    return {k: m.tensor(v) for k, v in ps.items()}


@pytest.mark.parametrize("static", [False, True])
def test_multi_head_attention_forward_functional(static):
    def fn(m, q, k, v, sk, sv):
        p = _functional_args(m, static, str(q.dtype).split(".")[-1])
        f = torch.nn.functional if m is torch else attention
        return f.multi_head_attention_forward(
            q, k, v, E, H, p["in_proj_weight"], p["in_proj_bias"], p.get("bias_k"), p.get("bias_v"),
            False, 0.0, p["out_proj.weight"], p["out_proj.bias"],
            key_padding_mask=None, static_k=sk if static else None, static_v=sv if static else None)
    from parity import parity
    parity(fn, rand(L, N, E, seed=1), rand(S, N, E, seed=2), rand(S, N, E, seed=3),
           rand(N * H, 6, E // H, seed=4), rand(N * H, 6, E // H, seed=5))


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("kw,call", [
    (dict(kdim=3, vdim=6, add_bias_kv=True, add_zero_attn=True), dict(average_attn_weights=False)),
    ({}, dict(need_weights=False)),
    (dict(batch_first=True), "masks"),
], ids=["kv", "no_weights", "masks"])
def test_gradcheck(kw, call):
    lw.manual_seed(0)
    mod = attention.MultiheadAttention(E, H, **kw).double()
    for i, p in enumerate(mod.parameters()):
        p.array[...] += rand(*p.shape, seed=80 + i) * 0.2
    cfg = dict(kw)
    ins = [lw.tensor(a, requires_grad=True) for a in _inputs(cfg, False)]
    if call == "masks":
        kpm, am = lw.tensor(float_mask(N, S, seed=1)), lw.tensor(float_mask(L, S, seed=2))
        fn = lambda q, k, v: mod(q, k, v, key_padding_mask=kpm, attn_mask=am)  # noqa: E731
    else:
        fn = lambda q, k, v: mod(q, k, v, **call)  # noqa: E731
    assert lw.autograd.gradcheck(fn, ins, params=list(mod.parameters()))


# ------------------------------------------------------------------ errors
def test_constructor_errors():
    with pytest.raises(ValueError, match="embed_dim 10 must be divisible by num_heads 3"):
        attention.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads must be a positive int"):
        attention.MultiheadAttention(8, 0)
    with pytest.raises((ValueError, AssertionError)):
        torch.nn.MultiheadAttention(10, 3)


def _qkv():
    return rand(L, N, E), rand(S, N, E), rand(S, N, E)


ERRORS = [
    ("query features", dict(), lambda: (rand(L, N, 6), rand(S, N, E), rand(S, N, E)),
     r"query with 8 features.*\(4, 3, 6\)"),
    ("key/value", dict(), lambda: (rand(L, N, E), rand(S, N, E), rand(S + 1, N, E)),
     r"key of shape \(5, 3, 8\) and value of shape \(6, 3, 8\)"),
    ("kdim", dict(kdim=3), lambda: (rand(L, N, E), rand(S, N, 4), rand(S, N, E)),
     r"key with 3 features.*\(5, 3, 4\)"),
    ("batch", dict(), lambda: (rand(L, N, E), rand(S, N + 1, E), rand(S, N + 1, E)),
     r"batch size 3, key and value 4"),
    ("2d mask", dict(attn_mask=np.zeros((L, S + 1), bool)),
     _qkv, r"2-D attn_mask has shape \(4, 6\), expected \(L, S\) = \(4, 5\)"),
    ("3d mask", dict(attn_mask=np.zeros((N, L, S), bool)),
     _qkv, r"3-D attn_mask has shape \(3, 4, 5\), expected .* \(6, 4, 5\)"),
    ("kpm shape", dict(key_padding_mask=np.zeros((N, S + 2), bool)),
     _qkv, r"key_padding_mask of shape \(N, S\) = \(3, 5\), got \(3, 7\)"),
    ("kpm dtype", dict(key_padding_mask=np.zeros((N, S), np.int64)),
     _qkv, r"key_padding_mask must be boolean .* got int64"),
    ("causal without mask", dict(is_causal=True),
     _qkv, r"is_causal .* needs that attn_mask"),
    ("4-d query", dict(), lambda: (rand(1, L, N, E), rand(1, S, N, E), rand(1, S, N, E)),
     r"expected query of shape \(L, 8\) unbatched"),
]


@pytest.mark.parametrize("what,kw,make,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_forward_errors_name_the_shapes(what, kw, make, match):
    layer_kw = {k: v for k, v in kw.items() if k in ("kdim",)}
    call_kw = {k: v for k, v in kw.items() if k not in ("kdim",)}
    for m in (torch, lw):
        mod = NN(m).MultiheadAttention(E, H, **layer_kw).double()
        args = [m.tensor(a) for a in make()]
        ckw = {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in call_kw.items()}
        if m is torch:
            with pytest.raises((RuntimeError, AssertionError, ValueError)):
                mod(*args, **ckw)
        else:
            with pytest.raises((RuntimeError, TypeError), match=match):
                mod(*args, **ckw)


def test_dtype_mismatch_error():
    mod = attention.MultiheadAttention(E, H)
    x = lw.tensor(rand(L, N, E))
    with pytest.raises(TypeError, match="input dtype float64 does not match the weight dtype float32"):
        mod(x, x, x)


def test_mismatched_mask_types_warn_like_torch():
    mod = attention.MultiheadAttention(E, H)
    x = lw.tensor(rand(L, N, E).astype(np.float32))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        mod(x, x, x, key_padding_mask=lw.tensor(some_masked(N, L)),
            attn_mask=lw.tensor(np.zeros((L, L), np.float32)))
