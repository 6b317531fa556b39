"""Every benchmark workload builds and runs one step in both libraries, so `make bench`
cannot rot unnoticed (timing itself is never a test: see benchmarks/run.py)."""
import importlib
import sys
from pathlib import Path

import pytest
import torch

import layerwise as lw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import run as bench_run  # noqa: E402
from benchmarks.registry import WORKLOADS  # noqa: E402

for _m in bench_run.MODULES:
    importlib.import_module(_m)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_runs_in_both_libraries(name):
    setup, description = WORKLOADS[name]
    assert description
    for lib in (lw, torch):
        step = setup(lib)
        step()


def test_runner_prints_one_row_per_selected_workload():
    lines = []
    bench_run.run(only="layernorm", repeats=1, warmup=0, out=lines.append)
    assert lines[1].startswith("allocator: ")
    rows = [line for line in lines if line.startswith("layernorm_512_fwd_bwd")]
    assert len(rows) == 1 and len(rows[0].split()) >= 6
