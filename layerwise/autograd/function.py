"""The op contract: one class per differentiable op, forward and backward side by side.

A subclass implements

* ``forward(self, *arrays, **options) -> array | tuple[array, ...]`` on raw arrays,
  saving what backward needs with ``self.save_for_backward(...)``;
* ``backward(self, *grad_outputs) -> grad | tuple[grad | None, ...]``: one gradient
  array per input, ``None`` for inputs that need none (check
  ``self.needs_input_grad[i]`` to skip the work).

``Op.apply(*tensors, **options)`` runs forward, wraps the outputs in Tensors and,
when any input requires a gradient and grad mode is on, links them into the
graph.  Integer and bool outputs (indices, masks) never require a gradient.

Saved arrays that are an input's or output's own storage are protected by the
tensor's version counter: an in-place change before backward raises instead of
silently producing a wrong gradient.  (A saved array that is a *view* of an input
is not recognised; save the input array itself.)
"""
from __future__ import annotations

from ..backend import xp
from . import grad_mode


class Function:
    #: the outputs are views of input 0: they share its memory and version counter.
    is_view = False

    needs_input_grad: tuple = ()
    saved: tuple = ()

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **options):
        from ..tensor import Tensor

        fn = cls()
        record = grad_mode.is_grad_enabled() and any(t.requires_grad for t in inputs)
        fn.needs_input_grad = tuple(t.requires_grad for t in inputs) if record else (False,) * len(inputs)
        with xp.errstate(all="ignore"):     # inf/nan arise silently, as in torch
            out = fn.forward(*[t.array for t in inputs], **options)
        multi = isinstance(out, tuple)
        outs = tuple(Tensor._wrap(o, requires_grad=record and o.dtype.kind == "f") for o in (out if multi else (out,)))
        if fn.is_view:
            # A view shares its input's memory and version counter, and remembers how it was
            # made (op, options, which output), so an in-place change of the view can rebase
            # the base's graph too.
            for i, o in enumerate(outs):
                o._version = inputs[0]._version
                o._view_of = (inputs[0], cls, options, i if multi else None)
        if record:
            # Edges to the producers *as they are now*: an in-place op may later rebase an
            # input tensor onto a new node, and this node must still reach the old one.
            # Only leaves are held as tensors (to accumulate .grad); a non-leaf input is held
            # as (node, output index), so its array is not kept alive by the graph.
            fn.edges = tuple(None if not need else (t, None) if t._node is None else (t._node, t._out_idx)
                             for t, need in zip(inputs, fn.needs_input_grad))
            fn.input_meta = tuple((t.array.shape, t.array.dtype) for t in inputs)
            fn.n_outputs = len(outs)
            fn.output_hooks = None
            fn.released = False
            if multi:
                fn.output_meta = [(o.shape, o.array.dtype) for o in outs]
            # Guard the saved storages that belong to an input or an output tensor.
            owners = list(inputs) + list(outs)
            fn.saved_versions = [(t._version, t._version[0]) for t in owners
                                 if any(a is t.array for a in fn.saved)]
            for i, t in enumerate(outs):
                if t.requires_grad:
                    t._node, t._out_idx = fn, i
        else:
            fn.saved = ()
        return outs if multi else outs[0]

    def check_versions(self):
        for box, expected in self.saved_versions:
            if box[0] != expected:
                raise RuntimeError(
                    f"one of the tensors needed for the gradient of {self.name} was modified by an "
                    f"in-place operation (version {box[0]}, expected {expected}); "
                    "clone it before changing it in place")

    def __repr__(self):
        return f"<{self.name}Backward0>"
