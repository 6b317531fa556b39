"""Parameter and Buffer: the Tensors a Module registers (``layerwise.nn`` re-exports them).

They live in the Tensor core, not in nn/, so that what needs only tensors (optimizers,
checkpoint readers) does not have to import the layers.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..backend import cpu_module
from .core import Tensor, as_array


class Parameter(Tensor):
    """A Tensor that is a module parameter (``requires_grad=True`` by default)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = cpu_module().empty((0,), dtype=_dt.float32.np)
        elif isinstance(data, Tensor):
            arr = data.array
        else:
            arr = as_array(data)
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
        arr = data.array if isinstance(data, Tensor) else as_array(data)
        self._init(arr, False)
        self.persistent = persistent
