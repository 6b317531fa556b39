"""The Tensor core: the Tensor, Parameter and Buffer, creation functions and printing.

    core.py        the Tensor: attributes, conversion, dtype/device, autograd entry points,
                   the in-place machinery
    creation.py    tensor, zeros, arange, rand, ... (torch's creation functions)
    format.py      torch's printing
    parameter.py   Parameter and Buffer (re-exported from layerwise.nn)

The Tensor core imports nothing from ``layerwise.nn``.  Its only import circle is with
``layerwise.ops``: a method calls its op, and ``Function.apply`` builds Tensors.
"""
from .core import Size, Tensor, _normalize_index, _RemovableHandle, _wrap_dim  # noqa: F401
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       randperm, tensor, zeros, zeros_like)
from .parameter import Buffer, Parameter

from .. import _tensor_ops  # noqa: E402,F401  (attaches the math methods to Tensor)

__all__ = ["Tensor", "Size", "Parameter", "Buffer", "tensor", "as_tensor", "from_numpy",
           "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
           "full_like", "arange", "linspace", "eye", "rand", "randn", "rand_like",
           "randn_like", "randint", "randperm"]
