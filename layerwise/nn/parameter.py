"""Parameter and Buffer: they live in the Tensor core (``layerwise/tensor/parameter.py``);
re-exported here under torch's name, ``torch.nn.parameter``."""
from ..tensor.parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer"]
