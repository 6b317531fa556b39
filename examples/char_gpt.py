"""A character-level GPT on Tiny Shakespeare (the code is layerwise/models/gpt.py).

    python examples/char_gpt.py                         # the baseline: 2,000 iterations
    python examples/char_gpt.py --iters 200 --eval-batches 50 --out runs/char-gpt
    python examples/char_gpt.py --generate runs/char-gpt/char_gpt.safetensors --prompt "ROMEO:"
    python examples/char_gpt.py --checkpoint-every 500          # interruptible; then
    python examples/char_gpt.py --resume runs/char-gpt/char_gpt.safetensors

benchmarks/char_gpt_torch.py runs the same model in torch from the same weights and batches.
"""
from __future__ import annotations

import argparse

import layerwise as lw
from layerwise.models.gpt import GPTConfig, generate, load_checkpoint, train


def main(argv=None, log=print):
    """``examples/char_gpt.py``: train (or resume) a run and print a sample, or ``--generate``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iters", type=int, default=GPTConfig.max_iters, help="training iterations (default 2000)")
    p.add_argument("--eval-batches", type=int, default=GPTConfig.eval_batches,
                   help="validation batches (default 200)")
    p.add_argument("--eval-interval", type=int, default=0, help="also evaluate every N iterations")
    p.add_argument("--seed", type=int, default=GPTConfig.seed, help="initial weights and batch order")
    p.add_argument("--data", default=None, help="folder holding input.txt (default "
                   "../shared/data/tinyshakespeare next to the checkout, or layerwise's cache)")
    p.add_argument("--out", default="runs/char-gpt", help="checkpoint folder (default runs/char-gpt)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="also save the checkpoint every N iterations (default: only at the end)")
    p.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue the run saved in CHECKPOINT to its end")
    p.add_argument("--attention", choices=("sdpa", "mha"), default="sdpa")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--generate", metavar="CHECKPOINT", default=None,
                   help="sample from a checkpoint instead of training")
    p.add_argument("--prompt", default="\n")
    p.add_argument("--length", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    a = p.parse_args(argv)
    lw.set_num_threads(a.threads)
    if a.generate:
        model, tok, _, _ = load_checkpoint(a.generate)
        text = generate(model, tok, a.prompt, a.length, a.temperature, a.top_k, a.seed)
        log(a.prompt + text)
        return text
    cfg = GPTConfig(max_iters=a.iters, eval_batches=a.eval_batches, eval_interval=a.eval_interval,
                    seed=a.seed, data=a.data, out=a.out, attention=a.attention,
                    checkpoint_interval=a.checkpoint_every)
    result = train(cfg, log=log, resume=a.resume)
    sample = generate(result["model"], result["tokenizer"], "\n", 300, 0.8, 20,
                      seed=result["config"].seed)
    log("sample:\n" + sample)
    return result


if __name__ == "__main__":
    main()
