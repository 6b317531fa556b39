"""The backend's process-wide settings: the BLAS thread policy and the malloc tuning."""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

import layerwise as lw

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocate and free the temporaries of a small elementwise "step" (four 1 MB float32 arrays)
# and print the minor page faults per step once warmed up.
_FAULTS = textwrap.dedent("""
    import resource
    import numpy as np
    import layerwise as lw
    x = np.ones((2048, 128), np.float32)
    def step():
        a = x * 2; b = a + 1; c = b * a; del a; return c - 1
    for _ in range(5):
        step()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 50)
    print(lw.backend.allocator_info())
""")


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("LAYERWISE_MALLOC", None)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return float(out[0]), out[1]


def test_glibc_detection_agrees_with_the_platform_module():
    assert bool(lw.backend._glibc_version()) == GLIBC


def test_num_threads_round_trip():
    before = lw.get_num_threads()
    try:
        lw.set_num_threads(2)
        assert lw.get_num_threads() == 2
    finally:
        lw.set_num_threads(before)
    with pytest.raises(ValueError, match="positive int"):
        lw.set_num_threads(0)


@pytest.mark.skipif(not GLIBC, reason="the malloc tuning applies to glibc only")
def test_tuned_malloc_keeps_freed_arrays_in_the_process():
    faults, info = _run({})
    assert info.startswith("glibc malloc: mmap threshold 32 MiB")
    assert faults < 10, f"{faults} page faults per step with the tuned allocator"


@pytest.mark.skipif(not GLIBC, reason="the malloc tuning applies to glibc only")
def test_malloc_tuning_can_be_turned_off():
    faults, info = _run({"LAYERWISE_MALLOC": "system"})
    assert info == "system default (LAYERWISE_MALLOC=system)"
    # glibc's defaults give the freed blocks back: the same step faults on every 4 KB page again
    assert faults > 100
    _, info = _run({"MALLOC_TRIM_THRESHOLD_": "1000000"})
    assert info == "system default (MALLOC_*_ set in the environment)"
