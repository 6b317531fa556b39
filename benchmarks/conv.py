"""Convolution workloads."""
import numpy as np

from .registry import workload


@workload("conv2d_64_128_fwd_bwd",
          "Conv2d(64, 128, 3, padding=1) on 32x64x32x32: forward + backward (input, weight, bias grads)")
def conv2d_64_128_fwd_bwd(lib):
    # FLOPs per step: 3 · 2·N·Cout·Hout·Wout·Cin·k·k = 3 · 4.83 GFLOP (forward, dX and dW GEMMs).
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 64, 32, 32)).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal((32, 128, 32, 32)).astype(np.float32))
    conv = lib.nn.Conv2d(64, 128, 3, padding=1)

    def step():
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x).backward(g)
    return step


@workload("conv2d_64_128_fwd", "Conv2d(64, 128, 3, padding=1) on 32x64x32x32: forward under no_grad")
def conv2d_64_128_fwd(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 64, 32, 32)).astype(np.float32))
    conv = lib.nn.Conv2d(64, 128, 3, padding=1)

    def step():
        with lib.no_grad():
            conv(x)
    return step
