"""The Tensor: an array plus what autograd needs to differentiate through it.

A tensor produced by a differentiable op remembers that op (``grad_fn``) and
which of its outputs it is; ``backward()`` walks those links in reverse
(``autograd/engine.py``).  Every op lives in ``layerwise/ops`` as a ``Function``
with its forward and backward side by side; the methods only normalise
arguments, apply torch's type promotion (``dtypes.result_type``) and dispatch.

This module holds the class itself: attributes, conversion, dtype and device, the autograd
entry points and the in-place machinery.  The math methods are declared by the family
mixins the class inherits (``tensor/mixins/``).

The array behind a tensor (``t.array``) is an array of one of the backends
(``layerwise/backend``): NumPy, or the strict stand-in, both on the CPU.  Its array module
is asked for (``get_array_module``), never assumed, and moves to and from the host are
explicit (``backend.asarray``, ``backend.to_numpy``).
"""
from __future__ import annotations

import weakref

from .. import dtypes as _dt
from ..autograd import engine as _engine
from ..autograd import grad_mode
from ..backend import (StrictArray, asarray, cpu_module, get_array_module, host, is_array,
                       is_writeable, to_numpy)
from ..device import CPU, as_device
from .format import format_tensor
from .mixins import (ActivationMixin, ComparisonMixin, ElementwiseMixin, IndexMixin,
                     InplaceMixin, LinalgMixin, ReduceMixin, ShapeMixin, bind_tensor)
from .mixins._common import wrap_dim


class Size(tuple):
    """A tensor's shape: a tuple that prints like torch's ``Size``."""

    def __repr__(self):
        return f"layerwise.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class _RemovableHandle:
    def __init__(self, container, item):
        self._container, self._item = container, item

    def remove(self):
        if self._item in self._container:
            self._container.remove(self._item)


# ---------------------------------------------------------------------- arrays
_ARRAY_TYPES = (host.ndarray, StrictArray)       # checked first: the cheap common case
_HOST_DTYPE = host.dtype


def as_array(data):
    """``data`` as a backend array: any backend array unchanged (no copy); anything else
    (a NumPy scalar from a reduction, a Python number) moved to the CPU's array module."""
    if type(data) in _ARRAY_TYPES or is_array(data):
        return data
    return asarray(data)


def array_from_data(data, np_dtype):
    """A new array of the CPU's array module holding a copy of ``data`` (Python data, host
    arrays or CPU arrays), of NumPy dtype ``np_dtype``."""
    return cpu_module().array(data, dtype=np_dtype)


def device_of(array):
    """The device that holds ``array``: NumPy and the strict stand-in back the CPU."""
    if is_array(array):
        return CPU
    raise RuntimeError(f"an array of type {type(array).__name__} is on no device layerwise knows")


# ---------------------------------------------------------------------- the Tensor
class Tensor(ElementwiseMixin, ComparisonMixin, ReduceMixin, ShapeMixin, IndexMixin,
             LinalgMixin, ActivationMixin, InplaceMixin):
    """An n-dimensional array with autograd, following torch.Tensor's API."""

    __array_ufunc__ = None      # make numpy defer to Tensor's reflected operators
    _hooks = None
    _view_of = None             # (base, op class, options, output index) when made by a view op

    def __init__(self, data=None, *, dtype=None, requires_grad=False):
        if data is None:
            data = []
        if isinstance(data, Tensor):
            data = data.array
        # torch.Tensor(...) always builds the default float type.
        d = _dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()
        self._init(array_from_data(data, d.np), requires_grad)

    def _init(self, arr, requires_grad=False):
        self.array = arr
        self.grad = None
        self._node = None
        self._out_idx = 0
        self._version = [0]
        self.requires_grad = bool(requires_grad)

    @classmethod
    def _wrap(cls, arr, requires_grad=False) -> "Tensor":
        """Wrap a backend array without copying (internal constructor); other data is moved
        to the CPU's array module (``as_array``)."""
        t = object.__new__(cls)
        if type(arr) not in _ARRAY_TYPES:
            arr = as_array(arr)
        t._init(arr, requires_grad)
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def data(self) -> "Tensor":
        """The same values as a Tensor outside the graph, sharing this tensor's memory (torch's
        ``.data``).  Changes through it are not seen by autograd: unlike ``detach()`` it does not
        share the version counter, so ``p.data.add_(...)`` in an optimizer loop is allowed."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: expected a Tensor to assign, got {type(value).__name__}")
        self.array = value.array

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.array.dtype.kind not in "fc":
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, "
                               f"got {self.dtype}")
        if not value and self._node is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use "
                               "detach() to get a tensor without a graph")
        self._requires_grad = bool(value)

    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self.array.dtype)

    @property
    def device(self):
        """The device holding the tensor's array (NumPy and strict arrays: the CPU)."""
        return device_of(self.array)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.array.shape[wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self.array.size)

    nelement = numel

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to a "
                               "Python scalar")
        return self.array.reshape(()).item()

    def numpy(self, *, force=False):
        """The values as a NumPy array (the same memory for a NumPy-backed tensor)."""
        if self.requires_grad and not force:
            raise RuntimeError("can't call numpy() on a Tensor that requires grad; use "
                               "tensor.detach().numpy()")
        return to_numpy(self.array)

    def tolist(self):
        return self.array.tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy asks a CPU tensor for its values (``np.asarray(t)``), as torch's CPU tensors allow
        a = to_numpy(self.array)
        return a if dtype is None else a.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.array.size} values is ambiguous")
        return bool(self.item())

    def __repr__(self):
        return format_tensor(self)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    def __getstate__(self):
        if self._node is not None:
            raise RuntimeError("only leaf tensors can be pickled or deep-copied; use detach()")
        return {"data": self.array, "requires_grad": self.requires_grad, "grad": self.grad,
                "extra": {k: v for k, v in self.__dict__.items()
                          if k not in ("array", "grad", "_node", "_out_idx", "_version", "_requires_grad")}}

    def __setstate__(self, state):
        self._init(state["data"], state["requires_grad"])
        self.grad = state["grad"]
        self.__dict__.update(state["extra"])

    # ------------------------------------------------------------------ dtype & device
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (_dt.dtype, type, _HOST_DTYPE)) or (isinstance(a, str) and a in _dt._NAMES):
                dtype = a
            else:
                device = a
        as_device(device)          # validates: anything but 'cpu' raises
        out = self if dtype is None else self._cast(_dt.as_dtype(dtype))
        return out.clone() if copy and out is self else out

    def cpu(self):
        return self

    def cuda(self, *a, **k):
        as_device("cuda")

    def _cast(self, d: _dt.dtype) -> "Tensor":
        if self.array.dtype == d.np:
            return self
        from ..ops.elementwise import Cast
        if d.is_floating_point and self.requires_grad:
            return Cast.apply(self, dtype=d.np)
        return Tensor._wrap(self.array.astype(d.np))

    def type(self, dtype=None):
        if dtype is None:
            return f"layerwise.{self.dtype.name}"
        return self._cast(_dt.as_dtype(dtype))

    def float(self):
        return self._cast(_dt.float32)

    def double(self):
        return self._cast(_dt.float64)

    def half(self):
        return self._cast(_dt.float16)

    def long(self):
        return self._cast(_dt.int64)

    def int(self):
        return self._cast(_dt.int32)

    def bool(self):
        return self._cast(_dt.bool_)

    def type_as(self, other):
        return self._cast(other.dtype)

    # ------------------------------------------------------------------ autograd
    def _seed_gradient(self, gradient):
        """The gradient backward starts from: ones for a scalar, else ``gradient`` checked
        against this tensor's shape and cast to its dtype."""
        xp = get_array_module(self.array)
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                                   f"this tensor has shape {tuple(self.shape)}: pass gradient=")
            return xp.ones(self.array.shape, dtype=self.array.dtype)
        g = gradient.array if isinstance(gradient, Tensor) else asarray(gradient, xp=xp)
        if g.shape != self.array.shape:
            raise RuntimeError(f"backward: gradient has shape {g.shape}, but the tensor has "
                               f"shape {self.array.shape}")
        return g.astype(self.array.dtype, copy=False)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) · gradient into every leaf's ``.grad``."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): layerwise has no double "
                                      "backward yet")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        g = self._seed_gradient(gradient)
        if inputs is None:
            _engine.run_backward([self], [g], retain_graph=bool(retain_graph))
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = _engine.run_backward([self], [g], retain_graph=bool(retain_graph), inputs=inputs)
        for t, gi in zip(inputs, grads):
            if gi is not None:
                if t.grad is None:
                    t.grad = Tensor._wrap(gi.copy())
                else:
                    t.grad.array += gi

    def detach(self) -> "Tensor":
        t = Tensor._wrap(self.array)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        self._node = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook):
        """``hook(grad) -> Tensor | None`` runs when this tensor's gradient is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._node
            if node.output_hooks is None:
                node.output_hooks = {}
            hooks = node.output_hooks.setdefault(self._out_idx, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def retain_grad(self):
        """Keep the gradient of a non-leaf tensor in ``.grad`` after backward."""
        if self._node is None:
            return
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t.grad = Tensor._wrap(g.array.copy()) if t.grad is None else t.grad + g
        self.register_hook(keep)

    # ------------------------------------------------------------------ in-place machinery
    def _inplace(self, compute, *others):
        """Run ``compute(self_like, *others) -> Tensor`` and write the result into self.

        Without a graph the result is copied into the existing array (so views see
        it); with one, self becomes the output of the new op (its graph is rebased)
        and the old value is kept for backward.  If self is a view, its base's graph
        is rebased too (``ViewScatter``), so the base's gradient sees the change, as in
        torch.  The version counter goes up either way.
        """
        if not is_writeable(self.array):   # before computing: an expanded view can be huge
            raise RuntimeError("in-place operation on a tensor whose memory is not writable "
                               "(an expanded view?); clone() it first")
        recording = grad_mode.is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
        if recording:
            self._check_inplace_allowed()
            new = compute(self._old_value(), *others)
        else:
            with grad_mode.no_grad():
                new = compute(self, *others)
        self._check_inplace_result(new)
        get_array_module(self.array).copyto(self.array, new.array, casting="unsafe")
        if recording:
            self._node, self._out_idx, self._requires_grad = new._node, new._out_idx, new.requires_grad
            if self._view_of is not None:
                self._rebase_base()
        self._version[0] += 1
        return self

    def _old_value(self) -> "Tensor":
        """A copy of self's values standing where self stood in the graph (what the in-place
        op reads, and what backward sees of the old value)."""
        old = Tensor._wrap(self.array.copy(), requires_grad=False)
        old._requires_grad, old._node, old._out_idx = self.requires_grad, self._node, self._out_idx
        return old

    def _check_inplace_result(self, new):
        """The result of an in-place op must fit self: same shape and a dtype self can hold
        (same kind).  (Writable memory is checked before computing, in ``_inplace``.)"""
        if new.array.shape != self.array.shape:
            raise RuntimeError(f"output with shape {list(self.array.shape)} doesn't match the "
                               f"broadcast shape {list(new.array.shape)}")
        if new.array.dtype != self.array.dtype and not host.can_cast(new.array.dtype, self.array.dtype,
                                                                     "same_kind"):
            raise RuntimeError(f"result type {new.dtype.name} can't be cast to the desired output "
                               f"type {self.dtype.name}")

    def _check_inplace_allowed(self):
        t = self
        while t is not None:
            if t._node is None and t.requires_grad:
                raise RuntimeError(
                    ("a leaf Variable that requires grad" if t is self else
                     "a view of a leaf Variable that requires grad")
                    + " is being used in an in-place operation; wrap it in lw.no_grad() or "
                    "clone() it first")
            if t._view_of is not None and t._view_of[3] is not None:
                raise RuntimeError(
                    f"output {t._view_of[3]} of {t._view_of[1].__name__} is a view and is being "
                    "modified in place: it is the output of a function that returns multiple "
                    "views (split, chunk, unbind), which do not allow it (as in torch); replace "
                    "the in-place operation by an out-of-place one")
            t = t._view_of[0] if t._view_of is not None else None

    def _rebase_base(self):
        """self (a view) was just changed in place under autograd: make its base's graph
        ``ViewScatter(old base, new view)`` and go on up the chain of views."""
        from ..ops.shape import ViewScatter
        base, op, options, _ = self._view_of
        xp = get_array_module(base.array)
        # which element of the base each element of the view is: the view op applied to 0..n-1
        positions = op().forward(xp.arange(base.array.size).reshape(base.array.shape), **options)
        old = Tensor._wrap(base.array)
        old._requires_grad, old._node, old._out_idx = base.requires_grad, base._node, base._out_idx
        new = ViewScatter.apply(old, self, positions=xp.array(positions))
        base._node, base._out_idx, base._requires_grad = new._node, new._out_idx, new.requires_grad
        if base._view_of is not None:
            base._rebase_base()

    # ------------------------------------------------------------------ new tensors
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import empty
        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


bind_tensor(Tensor)     # the mixin modules' functions check and build Tensors
