"""The character GPT of layerwise/models/gpt.py (examples/char_gpt.py) run in torch: the reference run.

    python -m benchmarks.char_gpt_torch --iters 2000          # the baseline, torch side
    python -m benchmarks.char_gpt_torch --iters 2000 --also-layerwise

The torch model is the same code, ``build_gpt(torch, cfg)``, so it has layerwise's parameter
names; it starts from layerwise's initial weights (``layerwise.models.gpt.init_model(cfg)``'s
state_dict, loaded into it), and training replays the very same run with the same loop
(``gpt.train_loop(torch, ...)``): the batches come from ``gpt.get_batch`` with a NumPy
generator seeded ``cfg.seed`` (independent of either library), the same AdamW groups,
learning-rate schedule, clipping and fixed validation set.  So the two runs differ only in the
libraries' arithmetic, and their losses can be compared step by step.
"""
from __future__ import annotations

import argparse
import dataclasses

import torch

from layerwise.models import gpt as cg  # noqa: E402


def from_layerwise(cfg, lw_model=None):
    """The torch GPT holding layerwise's initial weights for ``cfg`` (cfg.seed), or those of
    ``lw_model``."""
    lw_model = lw_model if lw_model is not None else cg.init_model(cfg)
    model = cg.build_gpt(torch, cfg)
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in lw_model.state_dict().items()}
    model.load_state_dict(state)
    return model


def run(cfg=None, iters=None, data=None, log=print):
    """Train the torch GPT for ``iters`` iterations (default cfg.max_iters) from layerwise's
    initial weights on the shared batch sequence; returns ``gpt.train_loop``'s result
    (per-step losses, ``val_loss``, ``train_time``, ``eval_time``)."""
    cfg = cg._config(cfg)
    train_data, val_data, tok = data if data is not None else cg.load_data(cfg.data)
    if tok.vocab_size != cfg.vocab_size:
        cfg = dataclasses.replace(cfg, vocab_size=tok.vocab_size)
    model = from_layerwise(cfg)
    log(f"torch {torch.__version__} GPT: {sum(p.numel() for p in model.parameters()):,} "
        f"parameters, intra-op threads {torch.get_num_threads()}")
    return cg.train_loop(torch, model, cfg, train_data, cg.eval_set(val_data, cfg),
                         iters=iters, log=log)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.char_gpt_torch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=cg.GPTConfig.max_iters)
    p.add_argument("--eval-batches", type=int, default=cg.GPTConfig.eval_batches)
    p.add_argument("--eval-interval", type=int, default=0, help="also evaluate every N iterations")
    p.add_argument("--seed", type=int, default=cg.GPTConfig.seed)
    p.add_argument("--data", default=None, help="folder holding input.txt")
    p.add_argument("--attention", choices=("sdpa", "mha"), default="sdpa")
    p.add_argument("--threads", type=int, default=1, help="threads for both libraries (default 1)")
    p.add_argument("--also-layerwise", action="store_true",
                   help="then run layerwise on the same seed and print both losses")
    a = p.parse_args(argv)
    import layerwise as lw
    torch.set_num_threads(a.threads)
    lw.set_num_threads(a.threads)
    cfg = cg.GPTConfig(max_iters=a.iters, eval_batches=a.eval_batches, seed=a.seed, data=a.data,
                       attention=a.attention, eval_interval=a.eval_interval)
    data = cg.load_data(cfg.data)
    t = run(cfg, data=data)
    def line(who, r):
        return (f"{who}: val loss {r['val_loss']:.4f}, training {r['train_time']:.1f} s wall "
                f"({r['train_cpu_time']:.1f} s CPU), evaluation {r['eval_time']:.1f} s wall "
                f"({r['eval_cpu_time']:.1f} s CPU)")
    print(line("torch", t))
    if a.also_layerwise:
        r = cg.train(cfg, data=data)
        print(line("layerwise", r))
        print(f"difference {r['val_loss'] - t['val_loss']:+.4f}; training time ratio "
              f"{r['train_time'] / t['train_time']:.2f} wall, "
              f"{r['train_cpu_time'] / t['train_cpu_time']:.2f} CPU")
    return t


if __name__ == "__main__":
    main()
