"""Parameters as one flat vector and back (torch.nn.utils.parameters_to_vector)."""
from __future__ import annotations

from ... import _tensor_ops as T


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    return T.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters, in order (in place, no graph)."""
    if vec.ndim != 1:
        raise TypeError(f"expected a 1-D vector, got shape {tuple(vec.shape)}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements, the "
                         f"parameters need {total}")
    i = 0
    for p in params:
        n = p.numel()
        p.array[...] = vec.array[i:i + n].reshape(p.array.shape)
        p._version[0] += 1
        i += n
