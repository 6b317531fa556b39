"""Devices as torch code writes them.  Only ``'cpu'`` exists until a GPU backend lands;
any other device raises a clear error, so code written for PyTorch runs unchanged on the CPU."""
from __future__ import annotations


class device:
    """``lw.device('cpu')``; ``'cuda'`` and friends raise until a GPU backend exists."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind != "cpu":
            raise RuntimeError(
                f"device {spec!r} is not available: layerwise runs on the CPU (NumPy) only; "
                "use 'cpu' (lw.cuda.is_available() is False)")
        self.type = "cpu"
        self.index = int(idx) if idx else index

    def __eq__(self, other):
        try:
            return device(other).type == self.type
        except (TypeError, RuntimeError):
            return False

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type='{self.type}')"

    def __str__(self):
        return self.type


CPU = device("cpu")


def as_device(d) -> device:
    return CPU if d is None else device(d)


class cuda:
    """``lw.cuda.is_available()`` is False: no GPU backend yet."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0
