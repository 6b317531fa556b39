"""dtype objects with torch's names, and torch's type-promotion rules in one place.

NumPy's promotion differs from torch's in ways that silently cost speed or
change results (int / int gives float64, a float32 array plus a 0-d float64
array gives float64).  Every op that combines operands asks :func:`result_type`
here, so the torch rules live in exactly one function.
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type (``lw.float32``, ``lw.int64``, ...)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category          # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = category == 2 or self.np.kind == "i"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"layerwise.{self.name}"

    def __reduce__(self):                  # dtypes are singletons, also through pickle/deepcopy
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update({"float": float32, "double": float64, "half": float16, "long": int64,
               "int": int32, "short": int16, "bool_": bool_})

_default_float = float32


def _by_name(name):
    return _NAMES[name]


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating point types are allowed, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn a layerwise dtype, a NumPy dtype, a Python type or a name into a layerwise dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return float64           # as torch: dtype=float means float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        raise TypeError(f"expected a dtype such as lw.float32, got {d!r}") from None
    if npd not in _FROM_NP:
        raise TypeError(f"unsupported dtype {npd}; layerwise supports "
                        + ", ".join(x.name for x in ALL))
    return _FROM_NP[npd]


def from_numpy_dtype(npd) -> dtype:
    return as_dtype(npd)


def _category_of_scalar(v) -> int:
    if isinstance(v, (builtins.bool, np.bool_)):
        return 0
    if isinstance(v, (builtins.int, np.integer)):
        return 1
    if isinstance(v, (builtins.float, np.floating)):
        return 2
    raise TypeError(f"unsupported scalar operand {v!r} of type {type(v).__name__}")


def _scalar_dtype(category: int) -> dtype:
    return (bool_, int64, _default_float)[category]


def _promote(a: dtype, b: dtype) -> dtype:
    """torch's promotion of two dtypes: a higher category wins outright (float32 + int64 is
    float32, where NumPy says float64); within a category the wider type (uint8 + int8 → int16)."""
    if a._category != b._category:
        return a if a._category > b._category else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def result_type(*operands) -> dtype:
    """torch's result type for operands that are Tensors or Python scalars.

    Priority: tensors with dimensions > 0-d tensors > Python scalars.  A lower
    priority operand only matters when it is of a higher *category*
    (bool < integer < floating); then it contributes its own dtype (0-d tensor)
    or the default dtype of its category (Python scalar).  So float32 tensor +
    0-d float64 tensor is float32, and an int64 tensor + 2.5 is float32.
    """
    dims, zero_d, scalars = [], [], []
    for op in operands:
        d = getattr(op, "dtype", None)
        if isinstance(d, dtype):
            (dims if op.ndim > 0 else zero_d).append(d)
        else:
            scalars.append(_scalar_dtype(_category_of_scalar(op)))
    result = None
    for d in dims:
        result = d if result is None else _promote(result, d)
    for group, is_scalar in ((zero_d, False), (scalars, True)):
        if not group:
            continue
        best = group[0]
        for d in group[1:]:
            best = _promote(best, d)
        if result is None:
            result = best
        elif best._category > result._category:
            # A 0-d tensor or scalar of a higher category decides: a 0-d tensor with its
            # own dtype, a scalar with its category's default dtype, as torch does.
            result = _scalar_dtype(best._category) if is_scalar else best
    return result


def float_result_type(*operands) -> dtype:
    """Result type of ops that always produce floats (true division, exp, mean)."""
    d = result_type(*operands)
    return d if d.is_floating_point else _default_float
