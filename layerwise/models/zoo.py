"""Ready-made models used by the demo, the examples, the benchmarks and the CLI.

Each builder takes the library module (``layerwise`` by default, or ``torch``),
so the very same architecture can be built in both for side-by-side runs.
"""
from __future__ import annotations


def _lib(lib):
    if lib is None:
        import layerwise as lib
    return lib


def mlp(sizes=(64, 128, 64, 10), lib=None):
    """Linear layers of the given sizes with ReLU between them."""
    nn = _lib(lib).nn
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def digits_cnn(lib=None):
    """A small CNN for the 8×8 digits: (N, 1, 8, 8) → 10 logits."""
    nn = _lib(lib).nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),         # 16 × 4 × 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),        # 32 × 2 × 2
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def lenet5(lib=None):
    """LeNet-5 for 28×28 inputs (padding 2 stands in for the original 32×32): 61,706 parameters."""
    nn = _lib(lib).nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),          # 6 × 14 × 14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),                    # 16 × 5 × 5
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def mnist_cnn(lib=None):
    """The classic MNIST CNN (PyTorch's examples): two 3×3 convs, max-pool, dropout, two linears."""
    nn = _lib(lib).nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def mnist_small_cnn(lib=None):
    """A compact MNIST CNN that passes 99% test accuracy in a few epochs on a CPU."""
    nn = _lib(lib).nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),         # 32 × 14 × 14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),        # 64 × 7 × 7
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10))


MODELS = {
    "mlp": (mlp, (1, 64)),
    "digits-cnn": (digits_cnn, (1, 1, 8, 8)),
    "lenet5": (lenet5, (1, 1, 28, 28)),
    "mnist-cnn": (mnist_cnn, (1, 1, 28, 28)),
    "mnist-small-cnn": (mnist_small_cnn, (1, 1, 28, 28)),
}
