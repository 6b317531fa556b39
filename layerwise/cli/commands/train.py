"""``layerwise train MODEL``: train a model with checkpoints and a metrics log."""
from __future__ import annotations

from .. import catalog
from ..args import nonnegative_int, positive_float, positive_int
from ..errors import UserError

NAME = "train"
ORDER = 20
HELP = "train a model from the zoo, with checkpoints and a metrics log"
DESCRIPTION = ("Train MODEL with a progress bar, a training checkpoint (OUT/checkpoint.safetensors, "
               "resumable with --resume) and a metrics log (OUT/metrics.jsonl).")


def add_arguments(t):
    t.add_argument("model", metavar="MODEL", help="one of: " + ", ".join(catalog.trainable()))
    t.add_argument("--epochs", type=positive_int, default=None,
                   help="passes over the data, for image models (default: per model)")
    t.add_argument("--steps", type=positive_int, default=None, help="stop after this many optimisation steps")
    t.add_argument("--lr", type=positive_float, default=None, help="learning rate (default: per model)")
    t.add_argument("--batch-size", type=positive_int, default=None,
                   help="examples per step (default: 64 for image models, per model for text)")
    t.add_argument("--data", default=None, help="data folder (MNIST .gz files, or Tiny Shakespeare's input.txt)")
    t.add_argument("--download", action="store_true", help="download the data set if it is missing")
    t.add_argument("--out", default=None, help="output folder (default runs/MODEL)")
    t.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    t.add_argument("--resume", metavar="CHECKPOINT", default=None, help="continue from a training checkpoint")
    t.add_argument("--checkpoint-every", type=nonnegative_int, default=500,
                   help="also save a checkpoint every N steps (default 500; 0 = only per epoch "
                        "or evaluation)")


def run(args):
    if args.model in catalog.TEXT_MODELS:
        from ..text_training import train
        return train(args)
    if args.model in catalog.IMAGE_MODELS:
        from ..image_training import train
        return train(args)
    raise UserError(f"unknown model {args.model!r}; choose one of: " + ", ".join(catalog.trainable()))
