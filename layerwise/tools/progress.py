"""Progress bars for training and evaluation loops, on tqdm when it is installed.

``Progress`` shows the running loss, accuracy and throughput (samples/s).  It is
quiet when the output is not a terminal (tqdm's ``disable=None``), so logs and
CI output stay clean, and a no-op when tqdm is not installed (it is in the
``demo`` extra; the core needs NumPy only).
"""
from __future__ import annotations

import time

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:          # the core runs without tqdm
    _tqdm = None


def progress(iterable=None, desc=None, total=None, leave=True, disable=None, **kwargs):
    """A tqdm bar over ``iterable`` (or a plain passthrough without tqdm); quiet off-terminal."""
    if _tqdm is None:
        return iterable if iterable is not None else _NullBar()
    return _tqdm(iterable, desc=desc, total=total, leave=leave, disable=disable, dynamic_ncols=True, **kwargs)


class _NullBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s=""):
        pass

    def close(self):
        pass


class Progress:
    """A bar for one epoch that reports loss, accuracy and samples per second.

        with Progress(total=len(loader), desc="epoch 1") as bar:
            for xb, yb in loader:
                ...
                bar.update(batch_size=len(yb), loss=loss.item(), correct=int((pred == yb).sum()))
        bar.loss, bar.accuracy, bar.samples_per_second     # running means at the end
    """

    def __init__(self, total=None, desc=None, disable=None, leave=True, **tqdm_kwargs):
        self.bar = progress(total=total, desc=desc, disable=disable, leave=leave, unit="batch",
                            **tqdm_kwargs)
        self.samples = 0
        self.loss_sum = 0.0
        self.correct = 0
        self.counted = 0
        self.start = time.perf_counter()

    @property
    def loss(self):
        return self.loss_sum / self.samples if self.samples else float("nan")

    @property
    def accuracy(self):
        return self.correct / self.counted if self.counted else float("nan")

    @property
    def samples_per_second(self):
        dt = time.perf_counter() - self.start
        return self.samples / dt if dt > 0 else 0.0

    def update(self, batch_size, loss=None, correct=None):
        self.samples += batch_size
        if loss is not None:
            self.loss_sum += float(loss) * batch_size
        if correct is not None:
            self.correct += int(correct)
            self.counted += batch_size
        parts = [f"loss={self.loss:.4f}"] if loss is not None else []
        if self.counted:
            parts.append(f"acc={self.accuracy:.2%}")
        parts.append(f"{self.samples_per_second:,.0f} samples/s")
        self.bar.update(1)
        self.bar.set_postfix_str(" ".join(parts))

    def close(self):
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
