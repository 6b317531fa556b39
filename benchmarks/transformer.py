"""Transformer workloads: one encoder layer's training step and one iteration of the character GPT
(examples/char_gpt.py)."""

import numpy as np

from .registry import workload


# B=32, T=64, d=128, 4 heads, FF 512: forward GEMMs 2·BT·d·(3d + d + 2·FF) = 0.537 GFLOP plus
# QKᵀ and PV 2·2·B·T·T·d = 0.067; backward twice that: ≈ 1.81 GFLOP a step.
ENC_FLOPS = 3 * (2 * 32 * 64 * 128 * (3 * 128 + 128 + 2 * 512) + 2 * 2 * 32 * 64 * 64 * 128)


@workload("transformer_encoder_layer_train_step",
          "TransformerEncoderLayer(128, 4, 512, dropout=0, batch_first) B=32 T=64: forward, "
          "loss = mean(out²), backward, SGD step", flops=ENC_FLOPS)
def transformer_encoder_layer_train_step(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 64, 128)).astype(np.float32))
    layer = lib.nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
    opt = lib.optim.SGD(layer.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = (layer(x) ** 2).mean()
        loss.backward()
        opt.step()
    return step


# 4 layers of width 128 on 12·64 = 768 tokens: per layer 2·768·128·(3·128 + 128 + 2·512) GEMM
# FLOPs and 2·2·12·64·64·128 for attention (half of it masked, counted anyway), plus the head
# 2·768·128·65; backward twice the forward.
GPT_FLOPS = 3 * (4 * (2 * 768 * 128 * 1536 + 2 * 2 * 12 * 64 * 64 * 128) + 2 * 768 * 128 * 65)


@workload("char_gpt_train_iter",
          "char GPT (4 layers, 4 heads, width 128, no biases, SDPA causal) batch 12 × 64: "
          "forward, cross-entropy, backward, clip 1.0, AdamW", flops=GPT_FLOPS)
def char_gpt_train_iter(lib):
    from layerwise.models import gpt as cg
    import layerwise as lw

    cfg = cg.GPTConfig()
    lw.manual_seed(0)
    model = cg.build_gpt(lw, cfg)
    if lib is not lw:                            # torch: layerwise's initial weights
        from .char_gpt_torch import from_layerwise
        model = from_layerwise(cfg, model)
    opt = cg.make_optimizer(lib, model, cfg)
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    data = rng.integers(0, cfg.vocab_size, 20000)              # token ids: the timing is the same
    batches = [cg.get_batch(data, rng, cfg.batch_size, cfg.block_size) for _ in range(8)]
    batches = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]
    state = {"i": 0}

    def step():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
    return step
