"""MLP workloads."""
import numpy as np

from .registry import workload


@workload("mlp_train_step", "MLP 784-256-256-10, batch 128: forward, cross-entropy, backward, SGD step")
def mlp_train_step(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 128))
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


@workload("mlp_inference", "MLP 784-256-256-10, batch 1024, forward under no_grad")
def mlp_inference(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((1024, 784)).astype(np.float32))
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))

    def step():
        with lib.no_grad():
            model(x)
    return step
