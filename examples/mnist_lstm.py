"""Many-to-one: classify MNIST by reading each image row by row with an LSTM.

    python examples/mnist_lstm.py --data ../shared/data/mnist

Each 28×28 image is a sequence of 28 steps with 28 features (one pixel row per step);
an LSTM(28, 128) reads it and a Linear layer classifies its last hidden state.  This
is the many-to-one architecture of the recurrent seed notes; the character LSTM
(examples/char_lstm.py) is many-to-many, and its sampling one-to-many.
"""
from __future__ import annotations

import argparse
import time

import layerwise as lw
from layerwise.data import DataLoader, Subset
from layerwise.data.datasets import MNIST
from layerwise.tools.trainer import fit


class RowLSTM(lw.nn.Module):
    def __init__(self, hidden=128, layers=1):
        super().__init__()
        self.lstm = lw.nn.LSTM(28, hidden, num_layers=layers, batch_first=True)
        self.head = lw.nn.Linear(hidden, 10)

    def forward(self, x):                       # x: (N, 1, 28, 28)
        out, (h_n, _) = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.head(h_n[-1])               # the last layer's final hidden state


def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="folder with the MNIST .gz files (default: the cache)")
    p.add_argument("--download", action="store_true")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-subset", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    lw.manual_seed(a.seed)
    train = MNIST(a.data, train=True, download=a.download)
    if a.train_subset:
        train = Subset(train, range(a.train_subset))
    loader = DataLoader(train, batch_size=a.batch_size, shuffle=True,
                        generator=lw.Generator().manual_seed(a.seed))
    test_loader = DataLoader(MNIST(a.data, train=False, download=a.download), batch_size=1000)
    model = RowLSTM(a.hidden)
    lw.summary(model, input_size=(a.batch_size, 1, 28, 28))
    opt = lw.optim.Adam(model.parameters(), lr=a.lr)
    sched = lw.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    start = time.perf_counter()
    history = fit(model, loader, opt, a.epochs, test_loader=test_loader, scheduler=sched,
                  clip_grad_norm=1.0, log=log)
    log(f"\nrow-by-row LSTM: test accuracy {history['test_acc'][-1]:.2%} after {a.epochs} epochs "
        f"in {time.perf_counter() - start:.0f} s")
    return history


if __name__ == "__main__":
    main()
