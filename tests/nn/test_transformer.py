"""Transformer layers against torch 2.13: TransformerEncoderLayer / TransformerDecoderLayer over a
grid of configs (norm_first, relu/gelu/callable/module activation, batch_first, bias) × calls
(bool/float/3-D masks, key padding masks, the causal hint, unbatched input), train mode with
dropout 0 and eval mode with dropout > 0; TransformerEncoder/TransformerDecoder stacks (causal
mask detection, final norm) and the full Transformer; outputs, input and every parameter
gradient with torch's weights.  Also: state_dict keys, identical deep-copied layers, the
Transformer's xavier re-init, float64 gradchecks, shape errors, the causal mask, sinusoidal
positional encodings, and a 30-iteration character-GPT run tracking torch step by step."""
import dataclasses
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import transformer as lwt
from parity import assert_close, check_module, const, rand

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("LAYERWISE_TEST_DATA") or ROOT.parent / "shared" / "data")

E, H, FF = 8, 2, 12          # d_model, heads, dim_feedforward
S, T, N = 5, 4, 3            # source length, target length, batch

# torch's nested-tensor notice, and the deprecation warning both libraries give when a float
# causal mask meets a boolean padding mask (tested on its own below)
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]


class _LW:
    """layerwise's namespace for the lambdas: the transformer module first, then lw.nn."""

    def __getattr__(self, name):
        return getattr(lwt, name, None) or getattr(lw.nn, name)


LWNN = _LW()


def NN(m):
    return torch.nn if m is torch else LWNN


def _perturb(make):
    """Biases start at 0 and LayerNorm weights at 1: move every parameter (differently per
    parameter, so identical deep-copied layers become distinct) so all gradients are exercised."""
    def build(m):
        mod = make(m)
        if m is torch:
            with torch.no_grad():
                for i, p in enumerate(mod.parameters()):
                    p.add_(torch.tensor(rand(*p.shape, seed=100 + i) * 0.2, dtype=p.dtype))
        return mod
    return build


def some_masked(*shape, seed=0):
    """A boolean mask (True = masked out) that leaves key 0 free in every row."""
    m = np.random.default_rng(seed).random(shape) < 0.35
    m[..., 0] = False
    return m


def float_mask(*shape, seed=0):
    return np.where(some_masked(*shape, seed=seed), -np.inf, rand(*shape, seed=seed + 1) * 0.5)


def causal_float(n):
    return np.triu(np.full((n, n), -np.inf), 1)


def causal_bool(n):
    return np.triu(np.ones((n, n), bool), 1)


def _act(name):
    """An activation argument for lib m: a string, a function or a module."""
    if name in ("relu", "gelu"):
        return lambda m: name
    if name == "callable":
        return lambda m: (lambda x: m.tanh(x) * 1.5)
    if name == "gelu_module":
        return lambda m: NN(m).GELU()
    raise ValueError(name)


def _seq(bf, length, batched=True, seed=1):
    if not batched:
        return rand(length, E, seed=seed)
    return rand(N, length, E, seed=seed) if bf else rand(length, N, E, seed=seed)


# ====================================================================== encoder layer
ENC_GRID = [dict(norm_first=nf, activation=act, batch_first=bf, bias=b)
            for nf in (False, True) for act in ("relu", "gelu", "callable")
            for bf in (False, True) for b in (True, False)]


def enc_layer(norm_first=False, activation="relu", batch_first=False, bias=True, dropout=0.0):
    return lambda m: NN(m).TransformerEncoderLayer(
        E, H, FF, dropout=dropout, activation=_act(activation)(m), batch_first=batch_first,
        norm_first=norm_first, bias=bias)


@pytest.mark.parametrize("cfg", ENC_GRID, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_encoder_layer_configs(cfg):
    check_module(_perturb(enc_layer(**cfg)), _seq(cfg["batch_first"], S),
                 what=f"TransformerEncoderLayer {cfg}")


# name: kwargs builder (n = batch, s = length) -> masks and flags for forward
ENC_CALLS = {
    "bool_mask": lambda n, s: dict(src_mask=const(some_masked(s, s, seed=3))),
    "float_mask": lambda n, s: dict(src_mask=const(float_mask(s, s, seed=4))),
    "float_mask_grad": lambda n, s: dict(src_mask=rand(s, s, seed=5)),        # gets a gradient
    "3d_bool_mask": lambda n, s: dict(src_mask=const(some_masked(n * H, s, s, seed=6))),
    "bool_kpm": lambda n, s: dict(src_key_padding_mask=const(some_masked(n, s, seed=7))),
    "float_kpm": lambda n, s: dict(src_key_padding_mask=const(float_mask(n, s, seed=8))),
    "mask_and_kpm": lambda n, s: dict(src_mask=const(some_masked(s, s, seed=9)),
                                      src_key_padding_mask=const(some_masked(n, s, seed=10))),
    "causal_float_hint": lambda n, s: dict(src_mask=const(causal_float(s)), is_causal=True),
    "causal_bool_hint": lambda n, s: dict(src_mask=const(causal_bool(s)), is_causal=True),
    "causal_and_kpm": lambda n, s: dict(src_mask=const(causal_float(s)), is_causal=True,
                                        src_key_padding_mask=const(some_masked(n, s, seed=11))),
}


def _run_enc(call, norm_first=False, batch_first=False, batched=True, train=True, dropout=0.0):
    kw = ENC_CALLS[call](N, S)
    if not batched:
        if "src_key_padding_mask" in kw:
            kw["src_key_padding_mask"] = const(kw["src_key_padding_mask"].array[0])
        if "src_mask" in kw and isinstance(kw["src_mask"], const) and kw["src_mask"].array.ndim == 3:
            kw["src_mask"] = const(some_masked(H, S, S, seed=6))
    names = list(kw)
    tensors = [k for k in names if not isinstance(kw[k], bool)]
    flags = {k: kw[k] for k in names if isinstance(kw[k], bool)}

    def fwd(mod, x, *ms):
        return mod(x, **dict(zip(tensors, ms)), **flags)
    check_module(_perturb(enc_layer(norm_first=norm_first, batch_first=batch_first,
                                    dropout=dropout)),
                 _seq(batch_first, S, batched), *[kw[k] for k in tensors], call=fwd, train=train,
                 what=f"TransformerEncoderLayer/{call}")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("call", list(ENC_CALLS))
def test_encoder_layer_masks(call, norm_first):
    _run_enc(call, norm_first=norm_first, batch_first=call.endswith("kpm"))


@pytest.mark.parametrize("call", ["bool_mask", "bool_kpm", "3d_bool_mask", "causal_float_hint"])
def test_encoder_layer_unbatched(call):
    _run_enc(call, batched=False)


@pytest.mark.parametrize("call", ["bool_mask", "mask_and_kpm"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_eval_mode_with_dropout(call, norm_first):
    """Eval mode (dropout 0.3 switched off), with grad enabled: torch's slow path."""
    _run_enc(call, norm_first=norm_first, train=False, dropout=0.3)


def test_encoder_layer_activation_module_and_flags():
    for m in (torch, lw):
        make = NN(m).TransformerEncoderLayer
        assert make(E, H, activation="relu").activation_relu_or_gelu == 1
        assert make(E, H, activation="gelu").activation_relu_or_gelu == 2
        assert make(E, H, activation=NN(m).GELU()).activation_relu_or_gelu == 2
        assert make(E, H, activation=lambda x: x).activation_relu_or_gelu == 0
    check_module(_perturb(enc_layer(activation="gelu_module")), _seq(False, S))


def test_encoder_layer_matches_torchs_inference_fast_path():
    """Eval mode under no_grad, batch_first: torch runs its fused native encoder kernel."""
    x = rand(N, S, E, seed=1).astype(np.float32)
    torch.manual_seed(0)
    th = _perturb(enc_layer(batch_first=True))(torch).eval()
    ours = enc_layer(batch_first=True)(lw).eval()
    ours.load_state_dict({k: lw.tensor(v.numpy()) for k, v in th.state_dict().items()})
    for mask in (None, some_masked(S, S, seed=2)):
        with torch.no_grad():
            to = th(torch.tensor(x), src_mask=None if mask is None else torch.tensor(mask))
        with lw.no_grad():
            lo = ours(lw.tensor(x), src_mask=None if mask is None else lw.tensor(mask))
        assert_close(lo.numpy(), to.numpy(), 1e-5, "encoder fast path")


def test_train_mode_dropout_is_random_and_eval_is_not():
    lw.manual_seed(0)
    layer = lwt.TransformerEncoderLayer(E, H, FF, dropout=0.5)
    x = lw.tensor(rand(S, N, E).astype(np.float32))
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert not np.allclose(a, b)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


# ====================================================================== decoder layer
DEC_GRID = [dict(norm_first=nf, batch_first=bf, bias=b, activation=act)
            for nf in (False, True) for bf in (False, True) for b in (True, False)
            for act in ("relu", "gelu")] + [dict(norm_first=True, activation="callable")]


def dec_layer(norm_first=False, activation="relu", batch_first=False, bias=True, dropout=0.0):
    return lambda m: NN(m).TransformerDecoderLayer(
        E, H, FF, dropout=dropout, activation=_act(activation)(m), batch_first=batch_first,
        norm_first=norm_first, bias=bias)


@pytest.mark.parametrize("cfg", DEC_GRID, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_decoder_layer_configs(cfg):
    bf = cfg.get("batch_first", False)
    check_module(_perturb(dec_layer(**cfg)), _seq(bf, T, seed=1), _seq(bf, S, seed=2),
                 what=f"TransformerDecoderLayer {cfg}")


DEC_CALLS = {
    "causal_tgt": lambda n: dict(tgt_mask=const(causal_float(T))),
    "causal_tgt_hint": lambda n: dict(tgt_mask=const(causal_bool(T)), tgt_is_causal=True),
    "bool_masks": lambda n: dict(tgt_mask=const(some_masked(T, T, seed=3)),
                                 memory_mask=const(some_masked(T, S, seed=4))),
    "float_memory_mask_grad": lambda n: dict(memory_mask=rand(T, S, seed=5)),
    "3d_masks": lambda n: dict(tgt_mask=const(some_masked(n * H, T, T, seed=6)),
                               memory_mask=const(float_mask(n * H, T, S, seed=7))),
    "kpms": lambda n: dict(tgt_key_padding_mask=const(some_masked(n, T, seed=8)),
                           memory_key_padding_mask=const(some_masked(n, S, seed=9))),
    "everything": lambda n: dict(tgt_mask=const(causal_float(T)), tgt_is_causal=True,
                                 memory_mask=const(some_masked(T, S, seed=10)),
                                 tgt_key_padding_mask=const(float_mask(n, T, seed=11)),
                                 memory_key_padding_mask=const(float_mask(n, S, seed=12))),
}


def _run_dec(call, norm_first=False, batch_first=False, batched=True, train=True, dropout=0.0):
    kw = DEC_CALLS[call](N if batched else 1)
    if not batched:
        for k in ("tgt_key_padding_mask", "memory_key_padding_mask"):
            if k in kw:
                kw[k] = const(kw[k].array[0])
        for k, n in (("tgt_mask", T), ("memory_mask", S)):
            if k in kw and isinstance(kw[k], const) and kw[k].array.ndim == 3:
                kw[k] = const(some_masked(H, T, n, seed=13))
    tensors = [k for k in kw if not isinstance(kw[k], bool)]
    flags = {k: v for k, v in kw.items() if isinstance(v, bool)}

    def fwd(mod, tgt, mem, *ms):
        return mod(tgt, mem, **dict(zip(tensors, ms)), **flags)
    check_module(_perturb(dec_layer(norm_first=norm_first, batch_first=batch_first,
                                    dropout=dropout)),
                 _seq(batch_first, T, batched, 1), _seq(batch_first, S, batched, 2),
                 *[kw[k] for k in tensors], call=fwd, train=train,
                 what=f"TransformerDecoderLayer/{call}")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("call", list(DEC_CALLS))
def test_decoder_layer_masks(call, norm_first):
    _run_dec(call, norm_first=norm_first, batch_first=norm_first)


@pytest.mark.parametrize("call", ["causal_tgt", "kpms", "3d_masks"])
def test_decoder_layer_unbatched(call):
    _run_dec(call, batched=False)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_eval_mode_with_dropout(norm_first):
    _run_dec("everything", norm_first=norm_first, train=False, dropout=0.3)


# ====================================================================== stacks
def encoder(norm_first=False, batch_first=False, final_norm=True, layers=2):
    def make(m):
        nn = NN(m)
        layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=batch_first,
                                           norm_first=norm_first, activation="gelu")
        return nn.TransformerEncoder(layer, layers, nn.LayerNorm(E) if final_norm else None,
                                     enable_nested_tensor=False)
    return make


def decoder(norm_first=False, batch_first=False, final_norm=True, layers=2):
    def make(m):
        nn = NN(m)
        layer = nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, batch_first=batch_first,
                                           norm_first=norm_first)
        return nn.TransformerDecoder(layer, layers, nn.LayerNorm(E) if final_norm else None)
    return make


@pytest.mark.parametrize("norm_first,batch_first,final_norm",
                         [(False, False, True), (True, True, False), (True, False, True)])
def test_encoder_stack(norm_first, batch_first, final_norm):
    make = _perturb(encoder(norm_first, batch_first, final_norm))
    x = _seq(batch_first, S)
    check_module(make, x)
    # a causal mask passed without the hint is detected (is_causal=None), with padding too
    check_module(make, x, const(causal_float(S)), const(some_masked(N, S, seed=2)),
                 call=lambda mod, x, m, k: mod(x, mask=m, src_key_padding_mask=k))
    check_module(make, x, const(causal_bool(S)), call=lambda mod, x, m: mod(x, m, is_causal=True))
    check_module(make, _seq(batch_first, S, batched=False), const(some_masked(S, seed=3)),
                 call=lambda mod, x, k: mod(x, src_key_padding_mask=k))


@pytest.mark.parametrize("norm_first,batch_first", [(False, False), (True, True)])
def test_decoder_stack(norm_first, batch_first):
    make = _perturb(decoder(norm_first, batch_first))
    tgt, mem = _seq(batch_first, T, seed=1), _seq(batch_first, S, seed=2)
    check_module(make, tgt, mem)
    check_module(make, tgt, mem, const(causal_float(T)), const(some_masked(N, S, seed=4)),
                 call=lambda mod, t, m, tm, mk: mod(t, m, tgt_mask=tm, memory_key_padding_mask=mk))


def test_detect_is_causal_mask_agrees_with_torch():
    from torch.nn.modules.transformer import _detect_is_causal_mask as th_detect
    masks = [causal_float(4), causal_bool(4), some_masked(4, 4), np.zeros((4, 4)),
             causal_float(4)[None].repeat(2, 0), causal_float(3), np.tril(np.ones((4, 4), bool), -1)]
    for mk in masks:
        for hint in (None, True, False):
            for size in (None, 4):
                want = th_detect(torch.tensor(mk), hint, size)
                assert lwt._detect_is_causal_mask(lw.tensor(mk), hint, size) == want, (mk, hint, size)
    assert lwt._detect_is_causal_mask(None, None, 4) is False


# ====================================================================== full Transformer
def transformer(**kw):
    return lambda m: NN(m).Transformer(E, H, 2, 2, FF, dropout=0.0, **kw)


@pytest.mark.parametrize("kw", [{}, dict(batch_first=True, norm_first=True),
                                dict(activation="gelu", bias=False)], ids=str)
def test_transformer_with_all_masks(kw):
    bf = kw.get("batch_first", False)
    check_module(_perturb(transformer(**kw)), _seq(bf, S, seed=1), _seq(bf, T, seed=2),
                 const(some_masked(S, S, seed=3)), const(causal_float(T)),
                 const(some_masked(T, S, seed=4)), const(some_masked(N, S, seed=5)),
                 const(some_masked(N, T, seed=6)), const(some_masked(N, S, seed=7)),
                 call=lambda mod, s, t, sm, tm, mm, skp, tkp, mkp: mod(
                     s, t, src_mask=sm, tgt_mask=tm, memory_mask=mm, src_key_padding_mask=skp,
                     tgt_key_padding_mask=tkp, memory_key_padding_mask=mkp))


def test_transformer_plain_unbatched_and_eval():
    make = _perturb(transformer())
    check_module(make, _seq(False, S, seed=1), _seq(False, T, seed=2))
    check_module(make, _seq(False, S, False, 1), _seq(False, T, False, 2),
                 call=lambda mod, s, t: mod(s, t, tgt_mask=mod.generate_square_subsequent_mask(
                     T, dtype=s.dtype)))
    check_module(lambda m: NN(m).Transformer(E, H, 1, 1, FF, dropout=0.4), _seq(False, S, seed=1),
                 _seq(False, T, seed=2), train=False)


def test_transformer_custom_encoder_and_decoder():
    def make(m):
        nn = NN(m)
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0), 1,
                                    enable_nested_tensor=False)
        dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF, dropout=0.0), 3)
        return nn.Transformer(E, H, dropout=0.0, custom_encoder=enc, custom_decoder=dec)
    check_module(_perturb(make), _seq(False, S, seed=1), _seq(False, T, seed=2))
    model = make(lw)
    assert len(model.encoder.layers) == 1 and len(model.decoder.layers) == 3
    assert model.encoder.norm is None


# ====================================================================== structure and init
STRUCTS = {
    "encoder_layer": lambda m: NN(m).TransformerEncoderLayer(E, H, FF),
    "encoder_layer_nobias": lambda m: NN(m).TransformerEncoderLayer(E, H, FF, bias=False),
    "decoder_layer": lambda m: NN(m).TransformerDecoderLayer(E, H, FF, norm_first=True),
    "encoder": encoder(),
    "decoder": decoder(),
    "transformer": transformer(),
    "transformer_nobias": transformer(bias=False),
}


@pytest.mark.parametrize("name", list(STRUCTS))
def test_state_dict_keys_and_shapes_match_torch(name):
    th, ours = STRUCTS[name](torch), STRUCTS[name](lw)
    ts, ls = th.state_dict(), ours.state_dict()
    assert list(ls) == list(ts)
    for k in ts:
        assert tuple(ls[k].shape) == tuple(ts[k].shape), k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in th.named_parameters()]
    # torch's state_dict loads into layerwise key for key and reproduces it
    ours.load_state_dict({k: lw.tensor(v.numpy()) for k, v in ts.items()})
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ts[k].numpy())


def test_parameter_counts():
    d, f = E, FF
    count = lambda mod: sum(p.numel() for p in mod.parameters())   # noqa: E731
    assert count(lwt.TransformerEncoderLayer(d, H, f)) == 4 * d * d + 2 * d * f + 9 * d + f
    assert count(lwt.TransformerDecoderLayer(d, H, f)) == 8 * d * d + 2 * d * f + 15 * d + f
    for name in STRUCTS:
        assert count(STRUCTS[name](lw)) == count(STRUCTS[name](torch)), name


def test_encoder_layers_start_identical_but_are_independent_copies():
    lw.manual_seed(0)
    layer = lwt.TransformerEncoderLayer(E, H, FF)
    enc = lwt.TransformerEncoder(layer, 3, enable_nested_tensor=True)
    base = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    for sub in enc.layers:
        assert sub is not layer
        for k, v in sub.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), base[k])
    with lw.no_grad():
        enc.layers[0].linear1.weight.array[...] += 1.0
    np.testing.assert_array_equal(enc.layers[1].linear1.weight.detach().numpy(), base["linear1.weight"])
    np.testing.assert_array_equal(layer.linear1.weight.detach().numpy(), base["linear1.weight"])
    dec = lwt.TransformerDecoder(lwt.TransformerDecoderLayer(E, H, FF), 2)
    np.testing.assert_array_equal(dec.layers[0].multihead_attn.in_proj_weight.detach().numpy(),
                                  dec.layers[1].multihead_attn.in_proj_weight.detach().numpy())
    assert dec.layers[0].multihead_attn.in_proj_weight is not dec.layers[1].multihead_attn.in_proj_weight


def test_transformer_xavier_reinit_of_every_matrix():
    lw.manual_seed(1)
    d, f = 64, 96
    model = lwt.Transformer(d, 4, 2, 2, f, dropout=0.0)
    th = torch.nn.Transformer(d, 4, 2, 2, f, dropout=0.0)
    matrices = [n for n, p in th.named_parameters() if p.dim() > 1]
    assert matrices == [n for n, p in model.named_parameters() if p.ndim > 1]
    params = {k: v.detach() for k, v in model.named_parameters()}
    for name in matrices:
        w = params[name].numpy()
        bound = math.sqrt(6.0 / (w.shape[0] + w.shape[1]))
        assert np.abs(w).max() <= bound, name
        assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.1, name          # U(−a, a): σ = a/√3
        assert abs(w.mean()) < 0.1 * bound, name
    # re-initialised one by one: the deep-copied layers no longer share values
    assert not np.array_equal(params["encoder.layers.0.linear1.weight"].numpy(),
                              params["encoder.layers.1.linear1.weight"].numpy())
    # out_proj.weight (kaiming-uniform before) now has the xavier bound of (d, d)
    w = params["decoder.layers.0.self_attn.out_proj.weight"].numpy()
    assert np.abs(w).max() > 1 / math.sqrt(d)
    # vectors keep their own init: zero in_proj biases, LayerNorm 1/0, Linear biases U(±1/√in)
    np.testing.assert_array_equal(params["encoder.layers.0.self_attn.in_proj_bias"].numpy(), 0)
    np.testing.assert_array_equal(params["encoder.norm.weight"].numpy(), 1)
    np.testing.assert_array_equal(params["decoder.layers.1.norm3.bias"].numpy(), 0)
    b = params["encoder.layers.0.linear2.bias"].numpy()
    assert np.abs(b).max() <= 1 / math.sqrt(f) and np.abs(b).max() > 0


# ====================================================================== gradchecks
def _f64(mod):
    mod = mod.to(lw.float64)
    with lw.no_grad():
        for i, p in enumerate(mod.parameters()):
            p.array[...] += rand(*p.shape, seed=200 + i) * 0.2
    return mod


def test_gradcheck_encoder_layer():
    lw.manual_seed(0)
    for norm_first in (False, True):
        layer = _f64(lwt.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu",
                                                  norm_first=norm_first))
        x = lw.tensor(rand(3, 2, 4, seed=1), requires_grad=True)
        am = lw.tensor(rand(3, 3, seed=2) * 0.5, requires_grad=True)
        kpm = lw.tensor(np.array([[False, False, True], [False, False, False]]))
        assert lw.autograd.gradcheck(
            lambda x, am: layer(x, src_mask=am, src_key_padding_mask=kpm), (x, am),
            params=list(layer.parameters()))


def test_gradcheck_decoder_layer():
    lw.manual_seed(0)
    for norm_first in (False, True):
        layer = _f64(lwt.TransformerDecoderLayer(4, 2, 6, dropout=0.0, activation="gelu",
                                                  norm_first=norm_first, batch_first=True))
        tgt = lw.tensor(rand(2, 3, 4, seed=1), requires_grad=True)
        mem = lw.tensor(rand(2, 4, 4, seed=2), requires_grad=True)
        tm = lw.tensor(causal_float(3))
        assert lw.autograd.gradcheck(lambda t, m: layer(t, m, tgt_mask=tm, tgt_is_causal=True),
                                     (tgt, mem), params=list(layer.parameters()))


# ====================================================================== errors
def _raises(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


def test_shape_and_argument_errors_name_the_problem():
    t32 = lambda *s: lw.tensor(rand(*s).astype(np.float32))   # noqa: E731
    enc = lwt.TransformerEncoderLayer(E, H, FF)
    dec = lwt.TransformerDecoderLayer(E, H, FF, batch_first=True)
    model = lwt.Transformer(E, H, 1, 1, FF)
    _raises(ValueError, r"d_model 8 must be divisible by nhead 3",
            lambda: lwt.TransformerEncoderLayer(8, 3))
    _raises(RuntimeError, r"activation should be relu/gelu, not tanh",
            lambda: lwt.TransformerEncoderLayer(E, H, activation="tanh"))
    _raises(TypeError, r"activation must be 'relu', 'gelu' or a callable",
            lambda: lwt.TransformerDecoderLayer(E, H, activation=3))
    _raises(RuntimeError, r"expected src of shape \(S, N, 8\).*got \(5, 3, 6\)",
            lambda: enc(t32(S, N, 6)))
    _raises(RuntimeError, r"expected src of shape .* got \(2, 5, 3, 8\)",
            lambda: enc(t32(2, S, N, E)))
    _raises(RuntimeError, r"src_key_padding_mask of shape \(N, S\) = \(3, 5\).*got \(5, 3\)",
            lambda: enc(t32(S, N, E), src_key_padding_mask=lw.zeros(S, N, dtype=lw.bool)))
    _raises(RuntimeError, r"src_mask of shape \(L, S\) or \(N·nhead, L, S\).*got \(4, 5\)",
            lambda: enc(t32(S, N, E), src_mask=lw.zeros(4, S, dtype=lw.bool)))
    _raises(TypeError, r"boolean \(True = masked out\) or floating point",
            lambda: enc(t32(S, N, E), src_mask=lw.zeros(S, S, dtype=lw.int64)))
    _raises(RuntimeError, r"is_causal",
            lambda: enc(t32(S, N, E), is_causal=True))
    _raises(RuntimeError, r"different batch sizes \(3 and 2\)",
            lambda: dec(t32(N, T, E), t32(2, S, E)))
    _raises(RuntimeError, r"expected memory of shape \(N, S, 8\)",
            lambda: dec(t32(N, T, E), t32(N, S, 4)))
    _raises(RuntimeError, r"both be batched .* or both unbatched",
            lambda: dec(t32(T, E), t32(N, S, E)))
    _raises(RuntimeError, r"memory_mask of shape .*\(4, 5\)",
            lambda: dec(t32(N, T, E), t32(N, S, E), memory_mask=lw.zeros(T, T, dtype=lw.bool)))
    _raises(RuntimeError, r"the batch number of src and tgt must be equal",
            lambda: model(t32(S, N, E), t32(T, 2, E)))
    _raises(RuntimeError, r"the feature number of src and tgt must be equal to d_model=8",
            lambda: model(t32(S, N, E), t32(T, N, 6)))
    _raises(ValueError, r"num_layers must be a non-negative int",
            lambda: lwt.TransformerEncoder(enc, -1))
    _raises(TypeError, r"encoder_layer must be a Module", lambda: lwt.TransformerEncoder("x", 2))


def test_mismatched_mask_types_warn_as_torch():
    enc = lwt.TransformerEncoderLayer(E, H, FF)
    x = lw.tensor(rand(S, N, E).astype(np.float32))
    with pytest.warns(UserWarning, match="mismatched src_key_padding_mask and src_mask"):
        enc(x, src_mask=lw.zeros(S, S), src_key_padding_mask=lw.zeros(N, S, dtype=lw.bool))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc(x, src_mask=lw.zeros(S, S, dtype=lw.bool),
            src_key_padding_mask=lw.zeros(N, S, dtype=lw.bool))


# ====================================================================== masks and encodings
def test_generate_square_subsequent_mask_matches_torch():
    for sz in (0, 1, 5):
        want = torch.nn.Transformer.generate_square_subsequent_mask(sz).numpy()
        for got in (lwt.Transformer.generate_square_subsequent_mask(sz),
                    lwt.generate_square_subsequent_mask(sz)):
            assert got.dtype == lw.float32
            np.testing.assert_array_equal(got.numpy(), want)
    m = lwt.Transformer(E, H, 1, 1, FF).generate_square_subsequent_mask(3, dtype=lw.float64)
    assert m.dtype == lw.float64
    np.testing.assert_array_equal(m.numpy(), causal_float(3))


def test_sinusoidal_positional_encoding_values():
    for length, d in ((7, 6), (4, 5), (1, 2)):
        pe = lwt.sinusoidal_positional_encoding(length, d, dtype=lw.float64).numpy()
        assert pe.shape == (length, d)
        for p in range(length):
            for j in range(d):
                angle = p / 10000 ** ((j - j % 2) / d)
                want = math.sin(angle) if j % 2 == 0 else math.cos(angle)
                assert abs(pe[p, j] - want) < 1e-12, (p, j)
    assert lwt.sinusoidal_positional_encoding(3, 4).dtype == lw.float32


def test_positional_encoding_module():
    enc = lwt.PositionalEncoding(E, dropout=0.0, max_len=16)
    assert list(enc.state_dict()) == [] and list(enc.parameters()) == []
    pe = lwt.sinusoidal_positional_encoding(S, E).numpy()
    x = rand(S, N, E).astype(np.float32)
    np.testing.assert_allclose(enc(lw.tensor(x)).numpy(), x + pe[:, None], rtol=1e-6)
    enc_bf = lwt.PositionalEncoding(E, dropout=0.0, max_len=16, batch_first=True)
    xb = rand(N, S, E).astype(np.float32)
    np.testing.assert_allclose(enc_bf(lw.tensor(xb)).numpy(), xb + pe[None], rtol=1e-6)
    np.testing.assert_allclose(enc(lw.tensor(x[:, 0])).numpy(), x[:, 0] + pe, rtol=1e-6)
    xg = lw.tensor(x, requires_grad=True)
    enc(xg).sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), np.ones_like(x))
    _raises(RuntimeError, r"sequence length 20 exceeds max_len 16",
            lambda: enc(lw.zeros(20, N, E)))
    _raises(RuntimeError, r"expected input of shape \(T, N, 8\)", lambda: enc(lw.zeros(S, N, 3)))


# ====================================================================== the character GPT
@pytest.fixture(scope="module")
def gpt_modules():
    sys.path.insert(0, str(ROOT))
    from layerwise.models import gpt as char_gpt
    from benchmarks import char_gpt_torch
    data = char_gpt.load_data(DATA / "tinyshakespeare")
    return char_gpt, char_gpt_torch, data


def _tiny(cg, **kw):
    base = dict(n_layer=2, n_head=2, n_embd=32, block_size=16, batch_size=8, max_iters=30,
                warmup_iters=5, lr=1e-2, min_lr=1e-3, eval_batches=4, log_interval=0)
    return cg.GPTConfig(**{**base, **kw})


def test_char_gpt_short_run_tracks_torch_step_by_step(gpt_modules):
    cg, ct, data = gpt_modules
    cfg = _tiny(cg)
    quiet = lambda *a: None   # noqa: E731
    ours = cg.train(cfg, log=quiet, data=data)
    ref = ct.run(cfg, data=data, log=quiet)
    a, b = np.array(ours["losses"]), np.array(ref["losses"])
    assert len(a) == len(b) == 30
    assert abs(a[0] - math.log(65)) < 0.1                     # starts near uniform
    assert a[-5:].mean() < a[:5].mean() - 0.6                 # and learns
    np.testing.assert_array_less(np.abs(a - b) / b, 0.01)     # within 1 % at every step
    assert abs(a[0] - b[0]) < 1e-5                            # same weights, same first batch
    assert abs(ours["val_loss"] - ref["val_loss"]) < 0.01 * ref["val_loss"]


def test_char_gpt_model_structure(gpt_modules):
    cg, ct, data = gpt_modules
    cfg = cg.GPTConfig(n_layer=2, n_embd=32, block_size=16)
    model = cg.init_model(cfg)
    assert model.lm_head.weight is model.wte.weight                    # tied
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names and not any("bias" in n for n in names)
    keys = list(model.state_dict())
    assert keys == list(cg.build_gpt(torch, cfg).state_dict())
    c = cfg.n_embd
    assert sum(p.numel() for p in model.parameters()) == \
        65 * c + 16 * c + cfg.n_layer * (12 * c * c + 2 * c) + c
    decay, no_decay = cg.param_groups(model)
    assert all(p.ndim == 2 for p in decay) and all(p.ndim == 1 for p in no_decay)
    assert len(decay) == 2 + 4 * cfg.n_layer and len(no_decay) == 2 * cfg.n_layer + 1
    w = {k: v.detach() for k, v in model.named_parameters()}
    assert abs(w["h.0.mlp.c_fc.weight"].numpy().std() - 0.02) < 0.002
    assert abs(w["h.0.attn.c_proj.weight"].numpy().std() - 0.01) < 0.001    # 0.02/√(2·2)
    with_bias = cg.init_model(cg.GPTConfig(n_layer=1, n_embd=32, block_size=16, bias=True))
    assert "h.0.attn.c_attn.bias" in dict(with_bias.named_parameters())


def test_char_gpt_lr_schedule():
    from layerwise.models import gpt as cg
    cfg = cg.GPTConfig()
    opt = lw.optim.AdamW([lw.nn.Parameter(lw.zeros(1))], lr=cfg.lr)
    sched = cg.lr_schedule(lw, opt, cfg)
    lrs = []
    for _ in range(cfg.max_iters + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(1e-3 / 101) and lrs[99] == pytest.approx(1e-3 * 100 / 101)
    assert lrs[100] == pytest.approx(1e-3) and max(lrs) == pytest.approx(1e-3)
    assert lrs[1050] == pytest.approx((1e-3 + 1e-4) / 2)
    assert lrs[2000] == pytest.approx(1e-4) and min(lrs[100:]) == pytest.approx(1e-4)
    assert all(x >= y for x, y in zip(lrs[100:], lrs[101:]))


def test_char_gpt_sdpa_and_mha_attention_are_the_same_model(gpt_modules):
    cg, _, data = gpt_modules
    base = _tiny(cg, bias=True)
    sd = cg.init_model(base)
    mh = cg.build_gpt(lw, cg.GPTConfig(**{**base.__dict__, "attention": "mha"}))
    state = {}
    for k, v in sd.state_dict().items():
        k = k.replace("attn.c_attn.weight", "attn.attn.in_proj_weight")
        k = k.replace("attn.c_attn.bias", "attn.attn.in_proj_bias")
        k = k.replace("attn.c_proj.", "attn.attn.out_proj.")
        state[k] = v
    mh.load_state_dict(state)
    x, y = cg.get_batch(data[0], np.random.default_rng(0), 4, 16)
    _, l1 = sd(lw.from_numpy(x), lw.from_numpy(y))
    _, l2 = mh(lw.from_numpy(x), lw.from_numpy(y))
    assert abs(l1.item() - l2.item()) < 1e-5


def test_char_gpt_resume_continues_the_run_exactly(gpt_modules, tmp_path):
    cg, _, data = gpt_modules
    quiet = lambda *a: None   # noqa: E731
    cfg = _tiny(cg, max_iters=7, dropout=0.1, eval_interval=2, checkpoint_interval=3)
    whole = cg.train(cfg, log=quiet, data=data)

    class Interrupted(Exception):
        pass

    def stop_at_5(it, loss):
        if it == 4:
            raise Interrupted
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        cg.train(dataclasses.replace(cfg, out=str(out)), log=quiet, data=data, on_step=stop_at_5)
    ckpt = out / "char_gpt.safetensors"
    assert lw.load(str(ckpt))["training"]["step"] == 3          # the last periodic checkpoint
    messages = []
    # a resumed run takes its settings from the checkpoint, not from the caller's config
    # (except where output goes, logging, evaluation and checkpoint intervals)
    other = _tiny(cg, max_iters=50, lr=0.5, seed=99, out=str(out), eval_interval=2,
                  checkpoint_interval=3)
    resumed = cg.train(other, log=messages.append, data=data, resume=ckpt)
    assert messages[0].startswith(f"resumed from {ckpt} at iteration 3 of 7")
    assert resumed["config"] == dataclasses.replace(cfg, out=str(out))
    assert resumed["losses"] == whole["losses"]                  # bit for bit, dropout included
    assert resumed["val_curve"] == whole["val_curve"]
    for (k, a), b in zip(resumed["model"].state_dict().items(), whole["model"].state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    with pytest.raises(ValueError, match="already finished its 7 iterations"):
        cg.train(other, log=quiet, data=data, resume=ckpt)
    lw.save({"format": "layerwise.char_gpt", "config": {}}, str(tmp_path / "bare.safetensors"))
    with pytest.raises(ValueError, match="no training state"):
        cg.train(other, log=quiet, data=data, resume=tmp_path / "bare.safetensors")


def test_char_gpt_checkpoint_and_generation(gpt_modules, tmp_path):
    cg, _, data = gpt_modules
    cfg = _tiny(cg, max_iters=3, out=str(tmp_path))
    res = cg.train(cfg, log=lambda *a: None, data=data)
    model, tok, cfg2, info = cg.load_checkpoint(res["checkpoint"])
    assert cfg2 == res["config"] and tok == data[2] and info["iters"] == 3
    x = lw.from_numpy(data[1][None, :16].copy())
    with lw.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), res["model"].eval()(x).numpy())
    text = cg.generate(model, tok, "ROMEO:", length=40, temperature=0.8, top_k=5, seed=3)
    assert len(text) == 40 and set(text) <= set(tok.chars)
    assert text == cg.generate(model, tok, "ROMEO:", length=40, temperature=0.8, top_k=5, seed=3)
    # top_k=1 is greedy decoding
    greedy = cg.generate(model, tok, "ab", length=5, top_k=1, seed=0)
    ids = list(tok.encode("ab"))
    with lw.no_grad():
        for _ in range(5):
            ids.append(int(model(lw.from_numpy(np.array([ids[-16:]]))).numpy()[0, -1].argmax()))
    assert greedy == tok.decode(np.array(ids[2:]))
