"""The tensor-level functions, now defined with the Tensor's mixins in ``layerwise/tensor/``.

Kept as a re-export for code that still imports it (``nn/`` does, until it moves to
``layerwise.tensor``); new code imports from ``layerwise.tensor``.
"""
from .tensor import *  # noqa: F401,F403
from .tensor import _normalize_index, _wrap_dim  # noqa: F401
from .tensor.mixins._common import as_float_input as _as_float_input  # noqa: F401
