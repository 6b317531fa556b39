"""Run the benchmark workloads for layerwise and PyTorch side by side.

    python -m benchmarks.run                 # every workload, vs torch
    python -m benchmarks.run --only mlp      # workloads whose name contains 'mlp'
    python -m benchmarks.run --threads 2 --repeats 30

Both libraries run in this one process with the same BLAS thread count, each
workload warmed up first, then timed *interleaved* (layerwise, torch,
layerwise, ...) so machine noise hits both alike.  Reported: median and min
milliseconds per step, and the ratio layerwise ÷ torch of the medians (< 1
means layerwise is faster).  These machines are noisy: compare ratios from
one run, not absolute times across runs.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import time

MODULES = ["benchmarks.mlp", "benchmarks.conv", "benchmarks.rnn", "benchmarks.norm", "benchmarks.attention",
           "benchmarks.transformer"]


def _time(step, n=1):
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n * 1e3


def run(only=None, threads=1, repeats=20, warmup=3, vs_torch=True, out=print):
    import layerwise as lw
    from .registry import FLOPS, WORKLOADS

    for m in MODULES:
        importlib.import_module(m)
    lw.set_num_threads(threads)
    libs = [("layerwise", lw)]
    if vs_torch:
        try:
            import torch
        except ImportError:
            raise SystemExit("benchmarks: torch is not installed (pip install 'layerwise[test]'), "
                             "or run with --no-torch") from None
        torch.set_num_threads(threads)
        libs.append(("torch", torch))
        out(f"layerwise {lw.__version__} ({lw.backend.blas_info()}) vs torch {torch.__version__} "
            f"(intra-op threads={torch.get_num_threads()})")
    else:
        out(f"layerwise {lw.__version__} ({lw.backend.blas_info()})")
    out(f"allocator: {lw.backend.allocator_info()} (both libraries share this process)")
    out(f"{'workload':<28}{'lw median':>11}{'lw min':>9}{'torch med':>11}{'torch min':>11}{'ratio':>8}")
    results = {}
    for name, (setup, desc) in WORKLOADS.items():
        if only and only not in name:
            continue
        steps = [setup(lib) for _, lib in libs]
        for s in steps:
            for _ in range(warmup):
                s()
        times = [[] for _ in steps]
        for _ in range(repeats):
            for i, s in enumerate(steps):
                times[i].append(_time(s))
        med = [statistics.median(t) for t in times]
        mins = [min(t) for t in times]
        row = f"{name:<28}{med[0]:>11.2f}{mins[0]:>9.2f}"
        if vs_torch:
            ratio = med[0] / med[1]
            row += f"{med[1]:>11.2f}{mins[1]:>11.2f}{ratio:>8.2f}"
            results[name] = {"layerwise_ms": med[0], "torch_ms": med[1], "ratio": ratio}
        else:
            results[name] = {"layerwise_ms": med[0]}
        if name in FLOPS:
            gflops = [FLOPS[name] / (m * 1e-3) / 1e9 for m in med]
            desc += "  [GFLOP/s: " + " vs ".join(f"{g:.0f}" for g in gflops) + "]"
            results[name]["gflops"] = gflops
        out(row + f"   {desc}")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="run only workloads whose name contains this text")
    p.add_argument("--threads", type=int, default=1, help="BLAS/intra-op threads for both (default 1)")
    p.add_argument("--repeats", type=int, default=20, help="timed steps per library (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--no-torch", action="store_true", help="time layerwise alone")
    a = p.parse_args(argv)
    run(a.only, a.threads, a.repeats, a.warmup, not a.no_torch)


if __name__ == "__main__":
    main()
