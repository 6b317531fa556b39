"""``layerwise generate CHECKPOINT``: sample text from a trained character model."""
from __future__ import annotations

from ...io import CheckpointError
from ..args import nonnegative_int, positive_float, positive_int
from ..errors import UserError
from ..paths import existing_file

NAME = "generate"
ORDER = 40
HELP = "sample text from a trained character model"
DESCRIPTION = "Sample text from a char-lstm or char-gpt checkpoint written by 'layerwise train'."


def add_arguments(p):
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the checkpoint file")
    p.add_argument("--prompt", default="\n", help="text to start from (default: a newline)")
    p.add_argument("--length", type=nonnegative_int, default=200, help="characters to generate (default 200)")
    p.add_argument("--temperature", type=positive_float, default=0.8, help="sampling temperature (default 0.8)")
    p.add_argument("--top-k", type=positive_int, default=None, help="sample only from the k likeliest characters")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")


def run(args):
    from ...models.charlstm import load_for_generation, sample
    from ...random import Generator
    existing_file("", args.checkpoint)
    try:
        model, tok, block_size = load_for_generation(args.checkpoint)
    except CheckpointError as e:
        raise UserError(str(e)) from None
    unknown = sorted(set(args.prompt) - set(tok.chars))
    if unknown:
        raise UserError(f"the prompt has characters the model never saw: {''.join(unknown)!r}")
    text = sample(model, tok, args.prompt, args.length, args.temperature, args.top_k,
                  Generator().manual_seed(args.seed), block_size=block_size)
    print(text)
    return 0
