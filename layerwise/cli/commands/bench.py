"""``layerwise bench``: time layerwise against PyTorch, side by side."""
from __future__ import annotations

import sys
from pathlib import Path

from ..args import positive_int
from ..errors import UserError

NAME = "bench"
ORDER = 50
HELP = "time layerwise against PyTorch, side by side"
DESCRIPTION = ("Run the benchmark workloads interleaved in one process and print median/min "
               "milliseconds and the ratio layerwise / torch.")


def add_arguments(p):
    p.add_argument("--vs", default=None, metavar="LIB", help="compare with LIB (only 'torch')")
    p.add_argument("--only", default=None, help="workloads whose name contains this text")
    p.add_argument("--threads", type=positive_int, default=1, help="BLAS threads for both (default 1)")
    p.add_argument("--repeats", type=positive_int, default=20, help="timed steps per library (default 20)")


def run(args):
    root = Path(__file__).resolve().parents[3]
    if not (root / "benchmarks" / "run.py").is_file():
        raise UserError("the benchmarks live in the layerwise source checkout (benchmarks/); run "
                        "`layerwise bench` from an editable install of it (make test sets one up)")
    if args.vs and args.vs != "torch":
        raise UserError(f"--vs {args.vs}: only 'torch' is supported")
    sys.path.insert(0, str(root))
    from benchmarks.run import run as run_benchmarks
    run_benchmarks(only=args.only, threads=args.threads, repeats=args.repeats,
                   vs_torch=args.vs == "torch")
    return 0
