"""Transformer layers, as torch.nn: TransformerEncoderLayer, TransformerEncoder,
TransformerDecoderLayer, TransformerDecoder and Transformer, plus the causal mask
(``generate_square_subsequent_mask``) and sinusoidal positional encodings.

Post-norm (norm_first=False, the default, "Attention Is All You Need"):

    x = norm1(x + SA(x));           x = norm2(x + FF(x))                       (encoder)
    x = norm1(x + SA(x)); x = norm2(x + CA(x, mem)); x = norm3(x + FF(x))      (decoder)

Pre-norm (norm_first=True):

    x = x + SA(norm1(x));           x = x + FF(norm2(x))                       (encoder)
    x = x + SA(norm1(x)); x = x + CA(norm2(x), mem); x = x + FF(norm3(x))      (decoder)

with SA/CA = dropout1/2(MultiheadAttention(...)) and FF(x) = dropout2/3(linear2(dropout(
activation(linear1(x))))).  Parameter names are torch's (self_attn, multihead_attn, linear1,
linear2, norm1..3), so state_dicts load key for key.

Masks (as torch): a boolean ``*_mask`` or ``*_key_padding_mask`` True means *masked out*; a
float mask is added to the attention scores.  ``is_causal`` is a hint that the mask is the causal
one; TransformerEncoder/TransformerDecoder detect a causal mask themselves when the hint is None.

torch traps reproduced: TransformerEncoder/TransformerDecoder deep-copy their layer, so every
layer starts with the same weights; Transformer re-initialises every parameter with more than
one dimension with xavier_uniform_ (after building), leaving biases and LayerNorm weights as
they are.  torch's inference "fast path" (nested tensors, a fused encoder kernel) is a speed
device only: ``enable_nested_tensor`` is accepted and ignored, the math is the same.
"""
from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np

from .. import _tensor_ops as T
from .. import dtypes as _dt
from ..tensor import Tensor
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention, _canonical_mask
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "PositionalEncoding", "generate_square_subsequent_mask",
           "sinusoidal_positional_encoding"]


# ---------------------------------------------------------------------- masks and encodings
def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """The (sz, sz) causal float mask: 0 on and below the diagonal, −inf above it (position i
    may attend to j ≤ i).  dtype defaults to the default float dtype."""
    if isinstance(sz, bool) or not isinstance(sz, numbers.Integral) or sz < 0:
        raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
    d = (_dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype())
    if not d.is_floating_point:
        raise TypeError(f"generate_square_subsequent_mask: dtype must be a float dtype, got {d.name}")
    m = np.triu(np.full((sz, sz), -np.inf, d.np), 1)
    return Tensor._wrap(m)


def sinusoidal_positional_encoding(length, d_model, dtype=None, base=10000.0):
    """The (length, d_model) sinusoidal table of Vaswani et al.:
    PE[p, 2i] = sin(p / base^(2i/d_model)),  PE[p, 2i+1] = cos(p / base^(2i/d_model)).
    Computed in float64, returned in ``dtype`` (default: the default float dtype)."""
    for what, v in (("length", length), ("d_model", d_model)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"sinusoidal_positional_encoding: {what} must be a non-negative int, "
                             f"got {v!r}")
    d = (_dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype())
    pos = np.arange(length, dtype=np.float64)[:, None]
    freq = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(base) / d_model))
    pe = np.zeros((length, d_model), np.float64)
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq[: d_model // 2])
    return Tensor._wrap(pe.astype(d.np))


class PositionalEncoding(Module):
    """x + PE[:T] followed by dropout, with PE the sinusoidal table
    (``sinusoidal_positional_encoding``).  Input (T, N, d_model), or (N, T, d_model) with
    batch_first=True, or unbatched (T, d_model); T ≤ max_len.  No parameters: ``pe`` is a
    non-persistent buffer (max_len, d_model), so it stays out of the state_dict."""

    def __init__(self, d_model, dropout=0.1, max_len=5000, batch_first=False, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model, dtype),
                             persistent=False)

    def forward(self, x):
        name = f"PositionalEncoding(d_model={self.d_model}, max_len={self.max_len})"
        if not isinstance(x, Tensor) or x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise RuntimeError(f"{name}: expected input of shape (T, N, {self.d_model}), "
                               f"(N, T, {self.d_model}) with batch_first, or (T, {self.d_model}); "
                               f"got {shape}")
        seq = 1 if (x.ndim == 3 and self.batch_first) else 0
        length = x.shape[seq]
        if length > self.max_len:
            raise RuntimeError(f"{name}: sequence length {length} exceeds max_len {self.max_len}")
        pe = T.narrow(self.pe, 0, 0, length)
        if pe.dtype != x.dtype:
            pe = pe._cast(x.dtype)
        if x.ndim == 3 and not self.batch_first:
            pe = T.unsqueeze(pe, 1)                     # (T, 1, E) broadcasts over N
        return self.dropout(x + pe)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


# ---------------------------------------------------------------------- helpers
def _get_activation_fn(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _activation(activation, name):
    if isinstance(activation, str):
        return _get_activation_fn(activation)
    if not callable(activation):
        raise TypeError(f"{name}: activation must be 'relu', 'gelu' or a callable, got "
                        f"{type(activation).__name__}")
    return activation


def _check_dims(d_model, nhead, name):
    for what, v in (("d_model", d_model), ("nhead", nhead)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
            raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
    if d_model % nhead:
        raise ValueError(f"{name}: d_model {d_model} must be divisible by nhead {nhead}")


def _layout(batch_first):
    return "(N, S, E)" if batch_first else "(S, N, E)"


def _check_seq(x, what, d_model, batch_first, name):
    """x is a float Tensor of shape (S, E) or batched (S, N, E) / (N, S, E) with E = d_model."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point {what}, got {x.dtype.name}")
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        lay = _layout(batch_first).replace("E", str(d_model))
        raise RuntimeError(f"{name}: expected {what} of shape {lay} or unbatched (S, {d_model}), "
                           f"got {tuple(x.shape)}")


def _batch_size(x, batch_first):
    return None if x.ndim == 2 else x.shape[0 if batch_first else 1]


def _seq_len(x, batch_first):
    return x.shape[0] if x.ndim == 2 else x.shape[1 if batch_first else 0]


def _check_kpm(mask, what, x, batch_first, name):
    """A key padding mask is (N, S) for a batched x, (S,) for an unbatched one."""
    if mask is None:
        return
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(mask).__name__}")
    s = _seq_len(x, batch_first)
    n = _batch_size(x, batch_first)
    want = (s,) if n is None else (n, s)
    if tuple(mask.shape) != want:
        form = "(S,)" if n is None else "(N, S)"
        raise RuntimeError(f"{name}: expected {what} of shape {form} = {want} for an input of "
                           f"shape {tuple(x.shape)}, got {tuple(mask.shape)}")


def _check_attn_mask(mask, what, tgt, src, nhead, batch_first, name):
    """An attention mask is (L, S) or (N·nhead, L, S)."""
    if mask is None:
        return
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(mask).__name__}")
    length, s = _seq_len(tgt, batch_first), _seq_len(src, batch_first)
    n = _batch_size(tgt, batch_first)
    ok = [(length, s)] + ([(nhead, length, s)] if n is None else [(n * nhead, length, s)])
    if tuple(mask.shape) not in ok:
        forms = " or ".join(str(o) for o in ok)
        raise RuntimeError(f"{name}: expected {what} of shape (L, S) or (N·nhead, L, S) = {forms}, "
                           f"got {tuple(mask.shape)}")


def _mask_warn(mask, other, mask_name, other_name):
    if mask is not None and other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same "
                      "type for both instead.", stacklevel=4)


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """torch's rule: an explicit hint wins; with None, a mask equal to the causal mask of the
    sequence length (as float, −inf above the diagonal) counts as causal."""
    if is_causal is not None or mask is None:
        return is_causal is True
    sz = size if size is not None else mask.shape[-2]
    if tuple(mask.shape) != (sz, sz):
        return False
    m = mask.array
    causal = np.triu(np.ones((sz, sz), bool), 1)
    if m.dtype == np.bool_:
        # torch compares the bool mask with a float −inf/0 mask of dtype bool: −inf → True
        return bool((m == causal).all())
    return bool(((m == -np.inf) == causal).all() and (m[~causal] == 0).all())


def _get_clones(module, n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"num_layers must be a non-negative int, got {n!r}")
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


# ---------------------------------------------------------------------- encoder
class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward block, post-norm (default) or pre-norm (norm_first=True).

    Parameters (bias=True): self_attn (4d² + 4d), linear1 (d·f + f), linear2 (f·d + d),
    norm1, norm2 (2d each): 4d² + 2d·f + 9d + f in all (d = d_model, f = dim_feedforward).
    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None,
                 dtype=None):
        super().__init__()
        name = "TransformerEncoderLayer"
        _check_dims(d_model, nhead, name)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        activation = _activation(activation, name)
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    @property
    def _name(self):
        return (f"TransformerEncoderLayer(d_model={self.self_attn.embed_dim}, "
                f"nhead={self.self_attn.num_heads})")

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        name = self._name
        bf = self.self_attn.batch_first
        _check_seq(src, "src", self.self_attn.embed_dim, bf, name)
        _check_kpm(src_key_padding_mask, "src_key_padding_mask", src, bf, name)
        _check_attn_mask(src_mask, "src_mask", src, src, self.self_attn.num_heads, bf, name)
        _mask_warn(src_key_padding_mask, src_mask, "src_key_padding_mask", "src_mask")
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               src.dtype, name)
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype, name)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer`` (identical at the start, as
    torch), then ``norm`` when given.  ``enable_nested_tensor`` is accepted and ignored (torch's
    inference fast path; layerwise has no nested tensors).
    forward(src, mask=None, src_key_padding_mask=None, is_causal=None): with is_causal=None a
    mask equal to the causal mask is detected and passed on as is_causal=True.
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got "
                            f"{type(encoder_layer).__name__}")
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        name = f"TransformerEncoder(num_layers={self.num_layers})"
        if not isinstance(src, Tensor):
            raise TypeError(f"{name}: expected src to be a Tensor, got {type(src).__name__}")
        _mask_warn(src_key_padding_mask, mask, "src_key_padding_mask", "mask")
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               src.dtype, name)
        mask = _canonical_mask(mask, "mask", src.dtype, name)
        batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False) \
            if len(self.layers) else False
        seq_len = _seq_len(src, batch_first) if src.ndim in (2, 3) else None
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal,
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


# ---------------------------------------------------------------------- decoder
class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention over the encoder's memory, and feed-forward; post-norm
    (default) or pre-norm.  Parameters (bias=True): 8d² + 2d·f + 15d + f.
    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None,
                 dtype=None):
        super().__init__()
        name = "TransformerDecoderLayer"
        _check_dims(d_model, nhead, name)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                            bias=bias, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, name)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        e, h = self.self_attn.embed_dim, self.self_attn.num_heads
        name = f"TransformerDecoderLayer(d_model={e}, nhead={h})"
        bf = self.self_attn.batch_first
        _check_seq(tgt, "tgt", e, bf, name)
        _check_seq(memory, "memory", e, bf, name)
        if tgt.ndim != memory.ndim:
            raise RuntimeError(f"{name}: tgt and memory must both be batched (3-D) or both "
                               f"unbatched (2-D), got shapes {tuple(tgt.shape)} and "
                               f"{tuple(memory.shape)}")
        if _batch_size(tgt, bf) != _batch_size(memory, bf):
            raise RuntimeError(f"{name}: tgt and memory have different batch sizes "
                               f"({_batch_size(tgt, bf)} and {_batch_size(memory, bf)}) for "
                               f"layout {_layout(bf)}: shapes {tuple(tgt.shape)} and "
                               f"{tuple(memory.shape)}")
        _check_kpm(tgt_key_padding_mask, "tgt_key_padding_mask", tgt, bf, name)
        _check_kpm(memory_key_padding_mask, "memory_key_padding_mask", memory, bf, name)
        _check_attn_mask(tgt_mask, "tgt_mask", tgt, tgt, h, bf, name)
        _check_attn_mask(memory_mask, "memory_mask", tgt, memory, h, bf, name)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer``, then ``norm`` when given.
    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False): with
    tgt_is_causal=None a causal tgt_mask is detected."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(f"TransformerDecoder: decoder_layer must be a Module, got "
                            f"{type(decoder_layer).__name__}")
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        name = f"TransformerDecoder(num_layers={self.num_layers})"
        if not isinstance(tgt, Tensor):
            raise TypeError(f"{name}: expected tgt to be a Tensor, got {type(tgt).__name__}")
        batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False) \
            if len(self.layers) else False
        seq_len = _seq_len(tgt, batch_first) if tgt.ndim in (2, 3) else None
        if tgt_mask is not None and not isinstance(tgt_mask, Tensor):
            raise TypeError(f"{name}: tgt_mask must be a Tensor or None, got "
                            f"{type(tgt_mask).__name__}")
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


# ---------------------------------------------------------------------- full model
class Transformer(Module):
    """Encoder–decoder Transformer (Vaswani et al.), as torch.nn.Transformer: an encoder of
    ``num_encoder_layers`` layers with a final LayerNorm and a decoder of ``num_decoder_layers``
    layers with a final LayerNorm (or ``custom_encoder`` / ``custom_decoder``).  After building,
    every parameter with more than one dimension is re-initialised with xavier_uniform_.

    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None,
    tgt_is_causal=None, memory_is_causal=False) → (T, N, E) (or (N, T, E), or (T, E)).
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        _check_dims(d_model, nhead, "Transformer")
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias,
                                            dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias,
                                            dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        name = f"Transformer(d_model={self.d_model}, nhead={self.nhead})"
        for what, t in (("src", src), ("tgt", tgt)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(t).__name__}")
        is_batched = src.ndim == 3
        if is_batched and tgt.ndim == 3:
            b = 0 if self.batch_first else 1
            if src.shape[b] != tgt.shape[b]:
                raise RuntimeError(f"{name}: the batch number of src and tgt must be equal: src "
                                   f"{tuple(src.shape)}, tgt {tuple(tgt.shape)}, layout "
                                   f"{_layout(self.batch_first)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"{name}: the feature number of src and tgt must be equal to "
                               f"d_model={self.d_model}: src {tuple(src.shape)}, tgt "
                               f"{tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
