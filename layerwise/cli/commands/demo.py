"""``layerwise demo``: train the digits CNN (what ``make demo`` runs)."""
from __future__ import annotations

from ..args import nonnegative_int, positive_int
from ..paths import output_folder

NAME = "demo"
ORDER = 10
HELP = "train a small CNN on the bundled 8x8 digits (what `make demo` runs)"
DESCRIPTION = ("Train a small CNN on scikit-learn's 8x8 digits; print its summary, progress and "
               "test accuracy; write a checkpoint and plots.")


def add_arguments(p):
    p.add_argument("--epochs", type=positive_int, default=15, help="passes over the training set (default 15)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")


def run(args):
    from ...demo import main as demo_main
    output_folder("--out", args.out)
    demo_main(["--epochs", str(args.epochs), "--out", args.out, "--seed", str(args.seed)])
    return 0
