"""Tensor methods, declared in one mixin class per family of ops (mirroring ``layerwise/ops/``).

Each module defines the family's public functions (``lw.exp``, ``lw.cat``, ...) and a mixin
class that declares them as methods and operators in its class body, so that a reader of the
module, ``help(lw.Tensor)`` and an IDE all see them:

    elementwise.py   arithmetic, powers, clamp, where, unary functions  (ops/elementwise.py)
    comparison.py    comparisons, logical and bitwise operators          (no ops: no gradient)
    reduce.py        sums, moments, extremes, norms, sorting, top-k      (ops/reduce.py)
    shape.py         reshape, views, permute, expand, cat, split, ...    (ops/shape.py)
    index.py         []-indexing, gather, scatter_add, masked_fill       (ops/shape.py)
    linalg.py        matmul, dot, outer                                  (ops/linalg.py)
    activation.py    softmax, log_softmax, relu            (ops/softmax.py, ops/activation.py)
    inplace.py       add_, copy_, fill_, uniform_, ... and ``t += ...``

A method is the function itself (``Tensor.exp is lw.exp``), so a call costs no extra frame.

The functions build and check Tensors, but the Tensor class inherits these mixins, so it
exists only after they are imported: ``core.py`` hands it to them with ``bind_tensor`` right
after the class statement.
"""
from . import _common, activation, comparison, elementwise, index, inplace, linalg, reduce, shape
from .activation import ActivationMixin
from .comparison import ComparisonMixin
from .elementwise import ElementwiseMixin
from .index import IndexMixin
from .inplace import InplaceMixin
from .linalg import LinalgMixin
from .reduce import ReduceMixin
from .shape import ShapeMixin

MIXINS = (ElementwiseMixin, ComparisonMixin, ReduceMixin, ShapeMixin, IndexMixin, LinalgMixin,
          ActivationMixin, InplaceMixin)
"""The bases of ``Tensor``, in its method resolution order."""

_MODULES = (_common, activation, comparison, elementwise, index, inplace, linalg, reduce, shape)


def bind_tensor(cls) -> None:
    """Give every mixin module the Tensor class (its functions check and build Tensors)."""
    for module in _MODULES:
        module.Tensor = cls
