"""``layerwise generate CHECKPOINT``: sample text from a trained character model."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError

NAME = "generate"
ORDER = 40
HELP = "sample text from a trained character model"
DESCRIPTION = "Sample text from a char-lstm or char-gpt checkpoint written by 'layerwise train'."


def add_arguments(p):
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the checkpoint file")
    p.add_argument("--prompt", default="\n", help="text to start from (default: a newline)")
    p.add_argument("--length", type=int, default=200, help="characters to generate (default 200)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default 0.8)")
    p.add_argument("--top-k", type=int, default=None, help="sample only from the k likeliest characters")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args):
    from ...models.charlstm import load_for_generation, sample
    from ...random import Generator
    if not Path(args.checkpoint).is_file():
        raise UserError(f"{args.checkpoint}: no such checkpoint file")
    try:
        model, tok, block_size = load_for_generation(args.checkpoint)
    except ValueError as e:
        raise UserError(str(e)) from None
    unknown = sorted(set(args.prompt) - set(tok.chars))
    if unknown:
        raise UserError(f"the prompt has characters the model never saw: {''.join(unknown)!r}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    text = sample(model, tok, args.prompt, args.length, args.temperature, args.top_k,
                  Generator().manual_seed(args.seed), block_size=block_size)
    print(text)
    return 0
