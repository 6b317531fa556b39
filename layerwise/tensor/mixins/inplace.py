"""In-place methods: ``add_``, ``mul_``, ``copy_``, ``fill_``, ``masked_fill_``, the random
fills ``uniform_``/``normal_``, and the augmented operators (``t += 1``).

Each is its out-of-place function run through the Tensor's in-place machinery
(``Tensor._inplace`` in ``core.py``): without a graph the result is written into the tensor's
memory; under autograd the tensor becomes the output of the op, and the version counter
goes up either way.
"""
from __future__ import annotations

from ...autograd import grad_mode
from ...backend import asarray, get_array_module
from ...ops.elementwise import Overwrite
from ...random import get_generator
from ._common import broadcast_shape

Tensor = None           # the Tensor class, bound by ``mixins.bind_tensor`` once it exists


def _check_copy_source(dst, src):
    """``src`` must broadcast to ``dst``'s shape exactly (it may not grow ``dst``)."""
    try:
        fits = broadcast_shape(src.array.shape, dst.array.shape) == dst.array.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"copy_: the source of shape {tuple(src.shape)} cannot be broadcast "
                           f"to the destination's shape {tuple(dst.shape)}")


def _as_fill_value(t, value):
    """The value of ``fill_`` as a 0-d Tensor (a Tensor value must be 0-d, as torch)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions")
        return value
    return Tensor._wrap(asarray(value, xp=get_array_module(t.array)))


class InplaceMixin:
    """Tensor methods that change the tensor in place."""

    __slots__ = ()

    def add_(self, other, *, alpha=1):
        return self._inplace(lambda a, b: a.add(b, alpha=alpha), other)

    def sub_(self, other, *, alpha=1):
        return self._inplace(lambda a, b: a.sub(b, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace(lambda a, b: a * b, other)

    def div_(self, other):
        return self._inplace(lambda a, b: a / b, other)

    def pow_(self, other):
        return self._inplace(lambda a, b: a ** b, other)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda a: a.clamp(min, max))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def copy_(self, src):
        """Write ``src`` (broadcast, cast to self's dtype) into self; differentiable in src."""
        from ..creation import tensor          # creation builds on the Tensor class
        src = src if isinstance(src, Tensor) else tensor(src)
        _check_copy_source(self, src)
        return self._inplace(lambda a, s: Overwrite.apply(a, s._cast(a.dtype)), src)

    def fill_(self, value):
        value = _as_fill_value(self, value)
        if not (grad_mode.is_grad_enabled() and (self.requires_grad or value.requires_grad)):
            self.array[...] = value.array            # fast path: no graph to record
            self._version[0] += 1
            return self
        return self._inplace(lambda a, v: Overwrite.apply(a, v._cast(a.dtype)), value)

    def zero_(self):
        return self.fill_(0)

    def masked_fill_(self, mask, value):
        return self._inplace(lambda a: a.masked_fill(mask, value))

    # ------------------------------------------------------------------ random fills
    def _fill_random(self, host_values):
        """Write values drawn on the host into self (moved to its array module)."""
        if grad_mode.is_grad_enabled():
            self._check_inplace_allowed()
        self.array[...] = asarray(host_values, xp=get_array_module(self.array))
        self._version[0] += 1
        return self

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return self._fill_random(get_generator(generator).uniform(a, b, self.array.shape))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._fill_random(get_generator(generator).normal(mean, std, self.array.shape))
