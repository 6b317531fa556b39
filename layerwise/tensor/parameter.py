"""Parameter: a leaf Tensor that a Module registers as learnable."""
from __future__ import annotations

import numpy as np

from .core import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter (``requires_grad=True`` by default)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), np.float32)
        elif isinstance(data, Tensor):
            arr = data.array
        else:
            arr = np.asarray(data)
        self._init(arr, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self.array.copy(), self.requires_grad)
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer (``self.x = Buffer(t)``), as torch.nn.Buffer."""

    def __init__(self, data, persistent=True):
        arr = data.array if isinstance(data, Tensor) else np.asarray(data)
        self._init(arr, False)
        self.persistent = persistent
