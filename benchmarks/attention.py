"""Attention workloads."""
import numpy as np

from .registry import workload


def _mha_class(lib):
    mha = getattr(lib.nn, "MultiheadAttention", None)
    if mha is None:                      # layerwise before nn/__init__ re-exports it
        from layerwise.nn.attention import MultiheadAttention as mha
    return mha


# B=32, T=128, E=128, 4 heads of 32: in-projection 2·B·T·E·3E = 0.403 GFLOP, QKᵀ and PV
# 2·B·H·T·T·(E/H) = 0.134 each, out-projection 2·B·T·E·E = 0.134 (the softmax over
# 32·4·128·128 = 2.1M scores is not counted).
MHA_FLOPS = 2 * 32 * 128 * 128 * 384 + 3 * (2 * 32 * 128 * 128 * 128)


def _mha_selfattn(lib, need_weights):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 128, 128)).astype(np.float32))
    mha = _mha_class(lib)(128, 4, batch_first=True)
    mha.eval()

    def step():
        with lib.no_grad():
            mha(x, x, x, need_weights=need_weights)
    return step


@workload("mha_selfattn_fwd_nograd",
          "MultiheadAttention(128, 4, batch_first) self-attention, B=32 T=128, eval, no_grad, "
          "need_weights=True (averaged weights returned)", flops=MHA_FLOPS)
def mha_selfattn_fwd_nograd(lib):
    return _mha_selfattn(lib, need_weights=True)


@workload("mha_selfattn_fwd_nograd_noweights",
          "as mha_selfattn_fwd_nograd with need_weights=False (torch: fused SDPA kernel)",
          flops=MHA_FLOPS)
def mha_selfattn_fwd_nograd_noweights(lib):
    return _mha_selfattn(lib, need_weights=False)
