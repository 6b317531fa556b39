"""Attention: the functional ``scaled_dot_product_attention`` and the layer ``MultiheadAttention``
(with its functional ``multi_head_attention_forward``), numerically as torch.

Mask conventions (they differ, as in torch):

    where                                   boolean True means     float mask
    scaled_dot_product_attention attn_mask  *take part* (attend)   added to the scores
    MultiheadAttention attn_mask            *masked out*           added to the scores
    MultiheadAttention key_padding_mask     *masked out* (padding) added to the scores

Fully masked rows (every score −inf): scaled_dot_product_attention, and MultiheadAttention with
need_weights=False, give a zero row (and zero gradients); MultiheadAttention with
need_weights=True gives NaN for that row's output and weights (the plain softmax 0/0), as torch.

The fused op (scores, mask, softmax, dropout, value product and its backward) is
``layerwise/ops/attention.py``.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _tensor_ops as T
from .. import dtypes as _dt
from ..backend import asarray, get_array_module
from ..ops.attention import ScaledDotProductAttention
from ..ops.linear import LinearOp
from ..random import get_generator
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

# The module (``from .attention import *`` in layerwise/nn/__init__.py); the functionals are
# re-exported by name from layerwise/nn/functional.py.
__all__ = ["MultiheadAttention"]
__functional__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


# ---------------------------------------------------------------------- helpers
def _check_float(x, name, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point {what}, got {x.dtype.name}")


def _check_p(p, name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, like):
    """(keep-mask, 1/(1 − p)) for dropout with probability p, from layerwise's generator,
    on the device of the array ``like``."""
    xp = get_array_module(like)
    if p >= 1.0:
        return xp.zeros(shape, bool), 0.0
    return asarray(get_generator().random(shape) >= p, xp=xp), 1.0 / (1.0 - p)


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


# ====================================================================== scaled dot-product attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """softmax(Q Kᵀ·scale + mask) V for Q (…, L, E), K (…, S, E), V (…, S, Ev) → (…, L, Ev).

    attn_mask: boolean (True = take part) or float (added to the scores), broadcastable to
    (…, L, S).  is_causal: position i attends to j ≤ i (top-left aligned lower triangle); it
    cannot be combined with attn_mask.  dropout_p > 0 drops attention weights (always: there is
    no training flag, as torch).  scale defaults to 1/√E.  enable_gqa: the query's head dim
    (−3) may be a multiple of the key/value's (grouped-query attention; each key/value head
    serves a group of consecutive query heads).  Fully masked rows give zeros.
    """
    name = "scaled_dot_product_attention"
    for what, t in (("query", query), ("key", key), ("value", value)):
        _check_float(t, name, what)
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{name}: expected query, key and value of the same dtype, got "
                        f"{query.dtype.name}, {key.dtype.name} and {value.dtype.name}")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"{name}: expected query, key and value with at least 2 dims (…, L, E), "
                           f"got shapes {tuple(query.shape)}, {tuple(key.shape)} and "
                           f"{tuple(value.shape)}")
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{name}: query and key must have the same embedding size (last dim): "
                           f"{shapes}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{name}: key and value must have the same sequence length (dim -2): "
                           f"{shapes}")
    _check_p(dropout_p, name)
    q, k, v = query, key, value
    group = 1
    if enable_gqa and min(q.ndim, k.ndim, v.ndim) >= 3 and (q.shape[-3] != k.shape[-3]
                                                              or q.shape[-3] != v.shape[-3]):
        hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
        if hk != hv or hq % hk:
            raise RuntimeError(f"{name}: with enable_gqa, the number of key/value heads (dim -3) must "
                               f"be equal and divide the number of query heads: {shapes}")
        group = hq // hk
        # query heads (…, Hk·G, L, E) as (…, Hk, G, L, E); K, V get a size-1 group dim (broadcast)
        q = T.reshape(q, tuple(q.shape[:-3]) + (hk, group) + tuple(q.shape[-2:]))
        k, v = T.unsqueeze(k, -3), T.unsqueeze(v, -3)
    try:
        batch = np.broadcast_shapes(tuple(q.shape[:-2]), tuple(k.shape[:-2]))
        out_batch = np.broadcast_shapes(batch, tuple(v.shape[:-2]))
    except ValueError:
        hint = ("; for grouped-query attention pass enable_gqa=True"
                if not enable_gqa and query.ndim >= 3 and key.ndim >= 3 else "")
        raise RuntimeError(f"{name}: the batch dims of query, key and value do not broadcast: "
                           f"{shapes}{hint}") from None
    L, S = q.shape[-2], k.shape[-2]
    score_shape = tuple(batch) + (L, S)
    user_score_shape = tuple(batch) + (L, S) if group == 1 else \
        tuple(batch[:-2]) + (batch[-2] * batch[-1], L, S)        # heads Hk·G, as the caller sees
    masks, blocked = (), None
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(f"{name}: an explicit attn_mask cannot be combined with "
                               "is_causal=True (pass one of them)")
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{name}: attn_mask must be a Tensor or None, got "
                            f"{type(attn_mask).__name__}")
        is_bool = attn_mask.dtype == _dt.bool_
        if not is_bool and not (attn_mask.is_floating_point()
                                and attn_mask.dtype in (query.dtype, _dt.float32)):
            raise TypeError(f"{name}: attn_mask must be boolean (True = take part) or a float mask "
                            f"of the query's dtype {query.dtype.name}, got {attn_mask.dtype.name}")
        if not _broadcasts_to(attn_mask.shape, user_score_shape):
            raise RuntimeError(f"{name}: attn_mask of shape {tuple(attn_mask.shape)} does not "
                               f"broadcast to the attention scores' shape {user_score_shape} "
                               f"(…, L, S) for {shapes}")
        m = attn_mask
        if group > 1 and m.ndim >= 3:
            # (…, Hq or 1, L, S) → (…, Hk or 1, G or 1, L, S), as the query
            h = m.shape[-3]
            split = (h // group, group) if h != 1 else (1, 1)
            m = T.reshape(m, tuple(m.shape[:-3]) + split + tuple(m.shape[-2:]))
        if is_bool:
            blocked = ~m.array
        else:
            masks = (m._cast(query.dtype),)
    elif is_causal:
        blocked = get_array_module(q.array).triu(get_array_module(q.array).ones((L, S), bool), 1)
    dropout_mask, dropout_scale = None, 1.0
    if dropout_p > 0:
        dropout_mask, dropout_scale = _keep_mask(score_shape, dropout_p, q.array)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    out = ScaledDotProductAttention.apply(q, k, v, *masks, scale=float(scale), blocked=blocked,
                                          dropout_mask=dropout_mask, dropout_scale=dropout_scale)
    if group > 1:
        out = T.reshape(out, tuple(out.shape[:-4]) + (out.shape[-4] * group,) + tuple(out.shape[-2:]))
    return out


# ====================================================================== multi-head attention
def _canonical_mask(mask, what, dtype, name):
    """A boolean mask (True = masked out) as a float mask of ``dtype`` (−inf where masked)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype == _dt.bool_:
        return Tensor._wrap(np.where(mask.array, -np.inf, 0.0).astype(dtype.np))
    if not mask.is_floating_point():
        raise TypeError(f"{name}: {what} must be boolean (True = masked out) or floating point "
                        f"(added to the scores), got {mask.dtype.name}")
    if mask.dtype != dtype:
        raise TypeError(f"{name}: the float {what} has dtype {mask.dtype.name}, the query "
                        f"{dtype.name}; use the same dtype")
    return mask


def _pad_last(mask):
    """Append a zero column (attend) to a float mask, for bias_k / add_zero_attn's extra key."""
    zeros = Tensor._wrap(np.zeros(tuple(mask.shape[:-1]) + (1,), mask.array.dtype))
    return T.cat([mask, zeros], dim=-1)


def _project(x, w, b):
    """x Wᵀ + b over the last dim, as one GEMM over all the leading dims."""
    lead = tuple(x.shape[:-1])
    x2 = T.reshape(x, (-1, x.shape[-1]))
    y = LinearOp.apply(x2, w) if b is None else LinearOp.apply(x2, w, b)
    return T.reshape(y, lead + (w.shape[0],))


def _heads(x, num_heads):
    """(N, L, E) → (N, H, L, E/H), a strided view."""
    n, length, e = x.shape
    return T.permute(T.reshape(x, (n, length, num_heads, e // num_heads)), (0, 2, 1, 3))


def _mha(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
         add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask,
         need_weights, attn_mask, q_proj_weight, k_proj_weight, v_proj_weight, static_k, static_v,
         average_attn_weights, is_causal, name, self_attention):
    """Multi-head attention on batch-major (N, L, E) query and (N, S, ·) key/value (possibly
    strided views); returns the output (N, L, E) and the weights (or None).  Masks are already
    float (−inf = masked) and checked."""
    n, tgt_len, embed_dim = query.shape
    head_dim = embed_dim // num_heads
    # ---- input projections, (N, ·, E) each
    e = embed_dim
    if in_proj_weight is not None and self_attention:
        qkv = _project(query, in_proj_weight, in_proj_bias)                 # one GEMM: (N, L, 3E)
        q_seq, k_seq, v_seq = (T.narrow(qkv, 2, i * e, e) for i in range(3))
    else:
        bq = bk = bv = None
        if in_proj_bias is not None:
            bq, bk, bv = (T.narrow(in_proj_bias, 0, i * e, e) for i in range(3))
        if in_proj_weight is not None:
            wq, wk, wv = (T.narrow(in_proj_weight, 0, i * e, e) for i in range(3))
        else:
            wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
        q_seq, k_seq, v_seq = _project(query, wq, bq), _project(key, wk, bk), _project(value, wv, bv)
    # ---- learned bias key/value: one more key position, attended by every query
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise RuntimeError(f"{name}: bias_k/bias_v cannot be added to static_k/static_v")
        k_seq = T.cat([k_seq, T.expand(bias_k, n, 1, embed_dim)], dim=1)
        v_seq = T.cat([v_seq, T.expand(bias_v, n, 1, embed_dim)], dim=1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise RuntimeError(f"{name}: bias_k and bias_v must be given together")
    q, k, v = (_heads(t, num_heads) for t in (q_seq, k_seq, v_seq))        # (N, H, ·, hd)
    # ---- static keys/values replace the projections, (N·H, S, hd)
    for what, static in (("static_k", static_k), ("static_v", static_v)):
        if static is not None:
            _check_float(static, name, what)
            if static.ndim != 3 or static.shape[0] != n * num_heads or static.shape[2] != head_dim:
                raise RuntimeError(f"{name}: expected {what} of shape (N·num_heads, S, head_dim) = "
                                   f"({n * num_heads}, S, {head_dim}), got {tuple(static.shape)}")
            s4 = T.reshape(static, (n, num_heads, static.shape[1], head_dim))
            if what == "static_k":
                k = s4
            else:
                v = s4
    if k.shape[2] != v.shape[2]:
        raise RuntimeError(f"{name}: keys ({k.shape[2]}) and values ({v.shape[2]}) have different "
                           "sequence lengths")
    # ---- a zero key/value position
    if add_zero_attn:
        zeros = Tensor._wrap(np.zeros((n, num_heads, 1, head_dim), query.array.dtype))
        k, v = T.cat([k, zeros], dim=2), T.cat([v, zeros], dim=2)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[2]
    # ---- one additive mask broadcastable to (N, H, L, S)
    mask = attn_mask
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n, src_len):
            raise RuntimeError(f"{name}: expected key_padding_mask of shape (N, S) = "
                               f"({n}, {src_len}), got {tuple(key_padding_mask.shape)}")
        kpm = T.reshape(key_padding_mask, (n, 1, 1, src_len))
        mask = kpm if mask is None else mask + kpm
    if mask is not None and tuple(mask.shape[-1:]) != (src_len,):
        raise RuntimeError(f"{name}: the mask covers {mask.shape[-1]} keys, the keys are "
                           f"{src_len}")
    if not training:
        dropout_p = 0.0
    dropout_mask, dropout_scale = None, 1.0
    if dropout_p > 0:
        dropout_mask, dropout_scale = _keep_mask((n, num_heads, tgt_len, src_len), dropout_p,
                                                 q.array)
    blocked = None
    if is_causal and mask is None and not need_weights:
        xq = get_array_module(q.array)
        blocked = xq.triu(xq.ones((tgt_len, src_len), bool), 1)
    res = ScaledDotProductAttention.apply(
        q, k, v, *(() if mask is None else (mask,)), scale=1.0 / math.sqrt(head_dim),
        blocked=blocked, dropout_mask=dropout_mask, dropout_scale=dropout_scale,
        need_weights=need_weights, empty_rows="nan" if need_weights else "zero")
    out, weights = res if need_weights else (res, None)
    out = T.reshape(T.permute(out, (0, 2, 1, 3)), (n * tgt_len, embed_dim))
    out = T.reshape(LinearOp.apply(out, out_proj_weight) if out_proj_bias is None
                    else LinearOp.apply(out, out_proj_weight, out_proj_bias), (n, tgt_len, embed_dim))
    if weights is not None and average_attn_weights:
        weights = T.mean(weights, dim=1)
    return out, weights


def _mha_checks(query, key, value, key_padding_mask, attn_mask, num_heads, embed_dim, kdim, vdim,
                name):
    """torch's shape checks, with the shapes named; returns is_batched."""
    for what, t in (("query", query), ("key", key), ("value", value)):
        _check_float(t, name, what)
    for what, t in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{name}: expected query, key and value of the same dtype, got "
                        f"{query.dtype.name}, {key.dtype.name} and {value.dtype.name}")
    if query.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected query of shape (L, {embed_dim}) unbatched or "
                           f"(L, N, {embed_dim}) / (N, L, {embed_dim}) batched, got "
                           f"{tuple(query.shape)}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(f"{name}: for a {query.ndim}-D query, expected {query.ndim}-D key and "
                           f"value, got shapes {tuple(key.shape)} and {tuple(value.shape)}")
    for what, t, d in (("query", query, embed_dim), ("key", key, kdim), ("value", value, vdim)):
        if t.shape[-1] != d:
            raise RuntimeError(f"{name}: expected {what} with {d} features (last dim), got shape "
                               f"{tuple(t.shape)}")
    if tuple(key.shape[:-1]) != tuple(value.shape[:-1]):
        raise RuntimeError(f"{name}: key of shape {tuple(key.shape)} and value of shape "
                           f"{tuple(value.shape)} must agree in all but the feature dim")
    if key_padding_mask is not None and key_padding_mask.ndim != (2 if batched else 1):
        want = "(N, S)" if batched else "(S,)"
        raise RuntimeError(f"{name}: expected key_padding_mask of shape {want} for a "
                           f"{query.ndim}-D query, got {tuple(key_padding_mask.shape)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected attn_mask of shape (L, S) or (N·num_heads, L, S), "
                           f"got {tuple(attn_mask.shape)}")
    return batched


def _attn_mask_4d(attn_mask, n, num_heads, tgt_len, src_len, name):
    """(L, S) → (L, S) (broadcast); (N·H, L, S) → (N, H, L, S); anything else is an error."""
    if attn_mask is None:
        return None
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"{name}: the 2-D attn_mask has shape {tuple(attn_mask.shape)}, "
                               f"expected (L, S) = ({tgt_len}, {src_len})")
        return attn_mask
    want = (n * num_heads, tgt_len, src_len)
    if tuple(attn_mask.shape) != want:
        raise RuntimeError(f"{name}: the 3-D attn_mask has shape {tuple(attn_mask.shape)}, "
                           f"expected (N·num_heads, L, S) = {want}")
    return T.reshape(attn_mask, (n, num_heads, tgt_len, src_len))


def _mha_entry(query, key, value, num_heads, embed_dim, kdim, vdim, key_padding_mask, attn_mask,
               need_weights, is_causal, batch_first, name, stacklevel=3, **kw):
    """Shared by the functional and the module: checks, mask canonicalisation, layout."""
    batched = _mha_checks(query, key, value, key_padding_mask, attn_mask, num_heads, embed_dim,
                          kdim, vdim, name)
    if embed_dim % num_heads:
        raise RuntimeError(f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    if (key_padding_mask is not None and attn_mask is not None
            and key_padding_mask.dtype != attn_mask.dtype):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", stacklevel=stacklevel)
    self_attention = query is key and key is value
    if batched and not batch_first:          # (L, N, E) → batch-major views (N, L, E)
        query, key, value = (T.transpose(t, 0, 1) for t in (query, key, value))
    elif not batched:
        query, key, value = (T.unsqueeze(t, 0) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = T.unsqueeze(key_padding_mask, 0)
    n, tgt_len = query.shape[:2]
    if key.shape[0] != n:
        raise RuntimeError(f"{name}: query has batch size {n}, key and value {key.shape[0]}")
    src_len = key.shape[1]
    dtype = query.dtype
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype, name)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{name}: is_causal is a hint that attn_mask is the causal mask, and "
                           "needs that attn_mask (e.g. Transformer.generate_square_subsequent_mask)")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None                     # torch: the fused kernel applies the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype, name)
        if key_padding_mask is not None:
            is_causal = False
    if not batched and attn_mask is not None and attn_mask.ndim == 3:
        if tuple(attn_mask.shape) != (num_heads, tgt_len, src_len):
            raise RuntimeError(f"{name}: for an unbatched query, expected a 3-D attn_mask of shape "
                               f"(num_heads, L, S) = ({num_heads}, {tgt_len}, {src_len}), got "
                               f"{tuple(attn_mask.shape)}")
    attn_mask = _attn_mask_4d(attn_mask, n, num_heads, tgt_len, src_len, name)
    out, weights = _mha(query, key, value, num_heads, key_padding_mask=key_padding_mask,
                        need_weights=need_weights, attn_mask=attn_mask, is_causal=is_causal,
                        name=name, self_attention=self_attention, **kw)
    if not batched:
        out = T.squeeze(out, 0)
        if weights is not None:
            weights = T.squeeze(weights, 0)
    elif not batch_first:
        out = T.contiguous(T.transpose(out, 0, 1))
    return out, weights


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """torch.nn.functional.multi_head_attention_forward: sequence-first (L, N, E) inputs (or
    unbatched (L, E)); see ``MultiheadAttention`` for the meaning of each argument."""
    name = "multi_head_attention_forward"
    _check_float(query, name, "query")
    if query.shape[-1] != embed_dim_to_check:
        raise RuntimeError(f"{name}: expected query with embed_dim_to_check={embed_dim_to_check} "
                           f"features, got shape {tuple(query.shape)}")
    if use_separate_proj_weight:
        for what, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                        ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise RuntimeError(f"{name}: use_separate_proj_weight=True needs {what}")
        kdim, vdim, in_proj_weight = k_proj_weight.shape[1], v_proj_weight.shape[1], None
    else:
        if in_proj_weight is None:
            raise RuntimeError(f"{name}: use_separate_proj_weight=False needs in_proj_weight")
        kdim = vdim = embed_dim_to_check
        if tuple(key.shape) != tuple(value.shape):
            raise RuntimeError(f"{name}: key shape {tuple(key.shape)} does not match value shape "
                               f"{tuple(value.shape)}")
    _check_p(dropout_p, name)
    return _mha_entry(query, key, value, num_heads, embed_dim_to_check, kdim, vdim,
                      key_padding_mask, attn_mask, need_weights, is_causal, False, name,
                      in_proj_weight=in_proj_weight, in_proj_bias=in_proj_bias, bias_k=bias_k,
                      bias_v=bias_v, add_zero_attn=add_zero_attn, dropout_p=dropout_p,
                      out_proj_weight=out_proj_weight, out_proj_bias=out_proj_bias,
                      training=training, q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight,
                      v_proj_weight=v_proj_weight, static_k=static_k, static_v=static_v,
                      average_attn_weights=average_attn_weights)


class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for MultiheadAttention's output projection (a plain Linear)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.), as torch.nn.MultiheadAttention.

    out = concat(head_1, …, head_H) W_oᵀ + b_o,  head_h = SDPA(q W_qhᵀ + b_qh, k W_khᵀ + b_kh,
    v W_vhᵀ + b_vh) with scale 1/√(embed_dim/H).

    Parameters: in_proj_weight (3E, E) and in_proj_bias (3E,) — or q/k/v_proj_weight (E, E),
    (E, kdim), (E, vdim) when kdim or vdim differ from E — out_proj (Linear E → E), bias_k and
    bias_v (1, 1, E) with add_bias_kv.  Count: 3E² + 3E + E² + E (same dims, bias=True).
    Init as torch: xavier_uniform_ over in_proj_weight as a whole (or each q/k/v weight), zero
    in_proj_bias and out_proj.bias, out_proj.weight Linear's default, xavier_normal_ bias_k/v.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (output, weights or None).  Boolean masks:
    True = masked out; float masks are added.  key_padding_mask (N, S) or (S,); attn_mask
    (L, S) or (N·num_heads, L, S).  is_causal is a hint that attn_mask is causal and needs it.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        for what, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"MultiheadAttention: {what} must be a positive int, got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads} (head_dim = embed_dim // num_heads)")
        _check_p(dropout, "MultiheadAttention")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), d))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), d))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), d))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), d))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty((3 * embed_dim,), d))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), d))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), d))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        name = f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
        for what, t in (("query", query), ("key", key), ("value", value)):
            _check_float(t, name, what)
        w = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        if query.dtype != w.dtype:
            raise TypeError(f"{name}: input dtype {query.dtype.name} does not match the weight "
                            f"dtype {w.dtype.name}; convert the input or call "
                            f".to({query.dtype.name}) on the layer")
        return _mha_entry(
            query, key, value, self.num_heads, self.embed_dim, self.kdim, self.vdim,
            key_padding_mask, attn_mask, need_weights, is_causal, self.batch_first, name,
            stacklevel=4, in_proj_weight=self.in_proj_weight, in_proj_bias=self.in_proj_bias,
            bias_k=self.bias_k, bias_v=self.bias_v, add_zero_attn=self.add_zero_attn,
            dropout_p=self.dropout, out_proj_weight=self.out_proj.weight,
            out_proj_bias=self.out_proj.bias, training=self.training,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, static_k=None, static_v=None,
            average_attn_weights=average_attn_weights)
