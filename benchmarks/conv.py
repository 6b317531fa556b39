"""Convolution workloads."""
import numpy as np

from .registry import workload


@workload("conv2d_64_128_fwd_bwd",
          "Conv2d(64, 128, 3, padding=1) on 32x64x32x32: forward + backward (input, weight, bias grads)",
          flops=3 * 2 * 32 * 128 * 32 * 32 * 64 * 9)
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


@workload("conv2d_64_128_fwd", "Conv2d(64, 128, 3, padding=1) on 32x64x32x32: forward under no_grad",
          flops=2 * 32 * 128 * 32 * 32 * 64 * 9)
def conv2d_64_128_fwd(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 64, 32, 32)).astype(np.float32))
    conv = lib.nn.Conv2d(64, 128, 3, padding=1)

    def step():
        with lib.no_grad():
            conv(x)
    return step


def _cnn_step(lib, build, batch=64):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    model = build(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


@workload("mnist_cnn_train_step", "classic MNIST CNN (conv32-conv64-pool-fc128), batch 64: fwd, CE, bwd, SGD")
def mnist_cnn_train_step(lib):
    from layerwise.models.zoo import mnist_cnn
    return _cnn_step(lib, lambda m: mnist_cnn(m))


@workload("lenet5_train_step", "LeNet-5 on 28x28, batch 64: fwd, CE, bwd, SGD")
def lenet5_train_step(lib):
    from layerwise.models.zoo import lenet5
    return _cnn_step(lib, lambda m: lenet5(m))


# N=4, 16 -> 32 channels, 16^3 voxels, 3x3x3: 2·4·32·16·27·4096 = 0.453 GFLOP forward, ×3 with backward
@workload("conv3d_16_32_fwd_bwd", "Conv3d(16, 32, 3, padding=1) on 4x16x16x16x16: forward + backward "
          "(layerwise: a sum of 2-d convolutions over the kernel's depth offsets)",
          flops=3 * 2 * 4 * 32 * 16 * 27 * 4096)
def conv3d_16_32_fwd_bwd(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 16, 16, 16, 16)).astype(np.float32), requires_grad=True)
    conv = lib.nn.Conv3d(16, 32, 3, padding=1)

    def step():
        x.grad = None
        conv.zero_grad()
        conv(x).sum().backward()
    return step
