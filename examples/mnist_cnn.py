"""Train a CNN on MNIST to 99% test accuracy on a laptop CPU.

    python examples/mnist_cnn.py --data ../shared/data/mnist            # the default model
    python examples/mnist_cnn.py --model lenet5 --epochs 8
    python examples/mnist_cnn.py --download                              # fetch MNIST to the cache

Models come from ``layerwise.models.zoo``: ``mnist-small-cnn`` (default: two 3×3 conv
blocks, 421,642 parameters), ``lenet5`` and the classic ``mnist-cnn``.  Prints
the summary, a progress bar and per-epoch test accuracy; writes the final
checkpoint and the history to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import layerwise as lw
from layerwise.data import DataLoader, Subset
from layerwise.data.datasets import MNIST
from layerwise.tools.trainer import fit
from layerwise.models.zoo import MODELS


def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mnist-small-cnn", choices=["mnist-small-cnn", "lenet5", "mnist-cnn"])
    p.add_argument("--data", default=None, help="folder with the four MNIST .gz files (default: the cache)")
    p.add_argument("--download", action="store_true", help="download MNIST if it is missing")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate (one-cycle)")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/mnist_cnn")
    a = p.parse_args(argv)

    lw.manual_seed(a.seed)
    train = MNIST(a.data, train=True, download=a.download)
    test = MNIST(a.data, train=False, download=a.download)
    if a.train_subset:
        train = Subset(train, range(a.train_subset))
    loader = DataLoader(train, batch_size=a.batch_size, shuffle=True,
                        generator=lw.Generator().manual_seed(a.seed))
    test_loader = DataLoader(test, batch_size=1000)
    model = MODELS[a.model][0]()
    lw.summary(model, input_size=(a.batch_size, 1, 28, 28))
    opt = lw.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = lw.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs,
                                             steps_per_epoch=len(loader))

    start = time.perf_counter()
    history = fit(model, loader, opt, a.epochs, test_loader=test_loader, scheduler=sched,
                  scheduler_interval="step", log=log)         # OneCycleLR steps every batch
    seconds = time.perf_counter() - start
    os.makedirs(a.out, exist_ok=True)
    lw.save(model.state_dict(), os.path.join(a.out, f"{a.model}.safetensors"))
    with open(os.path.join(a.out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    log(f"\n{a.model}: test accuracy {history['test_acc'][-1]:.2%} after {a.epochs} epochs "
        f"in {seconds:.0f} s; wrote {a.out}")
    return history


if __name__ == "__main__":
    main()
