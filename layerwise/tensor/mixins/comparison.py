"""Comparisons, logical and bitwise operators: bool (or integer) results outside the graph.

These have no gradient, so they call the tensor's array module directly instead of an op.
``ComparisonMixin`` declares them as Tensor methods and operators (``a < b``, ``m & k``, ``~m``).
"""
from __future__ import annotations

from ...backend import get_array_module, host

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists

# the comparison seen from the other side, for ``2 < t`` written as ``t > 2``
_MIRRORED = {"less": "greater", "less_equal": "greater_equal", "greater": "less",
             "greater_equal": "less_equal"}


def _shape_of(v):
    return v.shape if hasattr(v, "shape") else host.shape(v)


def _compare(ufunc, name):
    """The comparison ``name`` through the array function ``ufunc`` (``equal``, ``less``...)."""
    def f(a, b):
        fn = ufunc
        if not isinstance(a, Tensor):
            a, b = b, a
            fn = _MIRRORED.get(ufunc, ufunc)
        other = b.array if isinstance(b, Tensor) else b
        xp = get_array_module(a.array)
        try:
            return Tensor._wrap(getattr(xp, fn)(a.array, other))
        except ValueError:
            raise RuntimeError(f"{name}: shapes {tuple(a.shape)} and {_shape_of(other)} cannot "
                               "be broadcast together") from None
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``{name}(a, b)`` elementwise, as a bool tensor (no gradient)."
    return f


eq = _compare("equal", "eq")
ne = _compare("not_equal", "ne")
lt = _compare("less", "lt")
le = _compare("less_equal", "le")
gt = _compare("greater", "gt")
ge = _compare("greater_equal", "ge")
logical_and = _compare("logical_and", "logical_and")
logical_or = _compare("logical_or", "logical_or")
logical_xor = _compare("logical_xor", "logical_xor")


def _elementwise_test(fn_name):
    def f(x):
        return Tensor._wrap(getattr(get_array_module(x.array), fn_name)(x.array))
    f.__name__ = f.__qualname__ = fn_name
    return f


logical_not = _elementwise_test("logical_not")
isnan = _elementwise_test("isnan")
isinf = _elementwise_test("isinf")
isfinite = _elementwise_test("isfinite")


def equal(a, b) -> bool:
    return a.shape == b.shape and bool(get_array_module(a.array).array_equal(a.array, b.array))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    xp = get_array_module(a.array)
    return bool(xp.allclose(a.array, b.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _bitwise(fn_name, a, b):
    other = b.array if isinstance(b, Tensor) else b
    if a.array.dtype.kind not in "biu":
        raise TypeError(f"bitwise/logical operators need bool or integer tensors, got {a.dtype}")
    return Tensor._wrap(getattr(get_array_module(a.array), fn_name)(a.array, other))


class ComparisonMixin:
    """Tensor methods and operators for comparisons, logical and bitwise operations."""

    __slots__ = ()

    __eq__ = eq
    __ne__ = ne
    __lt__ = lt
    __le__ = le
    __gt__ = gt
    __ge__ = ge

    def __and__(self, other):
        return _bitwise("bitwise_and", self, other)

    def __or__(self, other):
        return _bitwise("bitwise_or", self, other)

    def __xor__(self, other):
        return _bitwise("bitwise_xor", self, other)

    def __invert__(self):
        return Tensor._wrap(~self.array)

    eq = eq
    ne = ne
    lt = lt
    le = le
    gt = gt
    ge = ge
    logical_and = logical_and
    logical_or = logical_or
    logical_xor = logical_xor
    logical_not = logical_not
    isnan = isnan
    isinf = isinf
    isfinite = isfinite
    equal = equal
    allclose = allclose
