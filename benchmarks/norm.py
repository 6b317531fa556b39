"""Normalisation workloads: LayerNorm as a Transformer uses it, GroupNorm as a CNN does."""
import numpy as np

from .registry import workload


def _fwd_bwd(lib, layer, shape):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal(shape).astype(np.float32))

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x).backward(g)
    return step


@workload("layernorm_512_fwd_bwd",
          "LayerNorm(512) on (32, 128, 512): forward, backward to the input, weight and bias")
def layernorm_512_fwd_bwd(lib):
    return _fwd_bwd(lib, lib.nn.LayerNorm(512), (32, 128, 512))


@workload("groupnorm_8_64_fwd_bwd",
          "GroupNorm(8, 64) on (32, 64, 32, 32): forward, backward to the input, weight and bias")
def groupnorm_8_64_fwd_bwd(lib):
    return _fwd_bwd(lib, lib.nn.GroupNorm(8, 64), (32, 64, 32, 32))
