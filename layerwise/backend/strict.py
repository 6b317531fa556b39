"""A stand-in device backend that keeps the array seam honest on a CPU machine.

``LAYERWISE_BACKEND=strict`` makes the CPU device hold its values in ``StrictArray``s: NumPy
arrays wrapped so that they behave like CuPy's arrays do on a GPU.  Everything that works
on CuPy works on them (the ``strict`` namespace below mirrors NumPy's functions, methods and
operators), and everything CuPy refuses, they refuse too:

* implicit conversion to NumPy (``np.asarray(a)``, ``np.exp(a)``, ``np.concatenate([a])``,
  ``host_array[...] = a``) raises, as ``cupy.ndarray.__array__`` does;
* a host (NumPy) array passed where a device array is expected (``strict.exp(host)``,
  ``a + host``, ``a[host_index]``) raises: it must be moved with ``backend.asarray`` first;
* ``a.flags`` has no ``writeable`` (CuPy's flags do not either).

So a test suite run under it fails at every place where code reaches around the seam: a
``numpy`` call on a tensor's array, a host array mixed into device math.  Explicit moves are
``backend.asarray`` (host → device) and ``backend.to_numpy`` / ``a.get()`` (device → host).
Values are computed by NumPy underneath, so results are bit-identical to the NumPy backend.
Speed is not a goal: this backend is for tests.
"""
from __future__ import annotations

import operator
import types

import numpy as _np

__all__ = ["StrictArray", "strict", "StrictConversionError"]


class StrictConversionError(TypeError):
    """A device array met NumPy without an explicit move (what CuPy would refuse)."""


def _refuse_implicit(what):
    raise StrictConversionError(
        f"strict backend: {what}; move arrays explicitly with layerwise.backend.to_numpy(a) "
        "(device to host) or layerwise.backend.asarray(a) (host to device)")


def _unwrap(obj):
    """Arguments for NumPy: StrictArrays unwrapped, host arrays refused, containers walked."""
    if type(obj) is StrictArray:
        return obj._a
    if isinstance(obj, _np.ndarray):
        _refuse_implicit(f"a NumPy (host) array of shape {obj.shape} was passed where a device "
                         "array is expected")
    if type(obj) in (tuple, list):
        return type(obj)(_unwrap(o) for o in obj)
    if type(obj) is slice:
        return slice(_unwrap(obj.start), _unwrap(obj.stop), _unwrap(obj.step))
    return obj


def _unwrap_kwargs(kwargs):
    return {k: _unwrap(v) for k, v in kwargs.items()}


def _wrap(obj):
    """Results from NumPy: arrays and NumPy scalars become StrictArrays (CuPy returns 0-d
    arrays from reductions), tuples and lists are walked, anything else passes."""
    if isinstance(obj, _np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, _np.generic):
        return StrictArray(_np.asarray(obj))
    if type(obj) in (tuple, list):
        return type(obj)(_wrap(o) for o in obj)
    return obj


class _Flags:
    """CuPy's array flags: contiguity and ownership, nothing about writability."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[key])


class StrictArray:
    """A NumPy array that refuses to become one implicitly (see the module docstring)."""

    __slots__ = ("_a", "__weakref__")      # weak references work, as on CuPy's arrays
    __array_priority__ = 1000
    __hash__ = None

    def __init__(self, a):
        self._a = a

    # what NumPy would call to take the array: refused
    def __array__(self, *args, **kwargs):
        _refuse_implicit("implicit conversion of a device array to a NumPy array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_implicit(f"numpy.{ufunc.__name__} called on a device array (use the backend's "
                         "array module, e.g. get_array_module(a))")

    def __array_function__(self, func, types, args, kwargs):
        _refuse_implicit(f"numpy.{func.__name__} called on a device array (use the backend's "
                         "array module, e.g. get_array_module(a))")

    # attributes that are plain values
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: StrictArray(self._a.T))
    mT = property(lambda self: StrictArray(_np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: StrictArray(self._a.real))
    imag = property(lambda self: StrictArray(self._a.imag))

    @property
    def base(self):
        b = self._a.base
        return None if b is None else StrictArray(b) if isinstance(b, _np.ndarray) else b

    @property
    def device(self):
        return "strict"

    def get(self):
        """A NumPy copy on the host (CuPy's ``ndarray.get``)."""
        return self._a.copy()

    def __getattr__(self, name):
        # methods (reshape, sum, astype, ...): arguments unwrapped, results wrapped.  Dunder
        # names are not forwarded: NumPy would find __array_interface__ and convert silently.
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap_kwargs(kwargs)))
        method.__name__ = name
        return method

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __format__(self, spec):
        if self._a.ndim == 0:
            return format(self._a.item(), spec)
        return format(repr(self), spec)

    def __repr__(self):
        return "strict(" + repr(self._a) + ")"

    def __copy__(self):
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._a.copy())

    def __reduce__(self):
        return StrictArray, (self._a,)


def _binary(op, reflected=False):
    if reflected:
        def f(self, other):
            return _wrap(op(_unwrap(other), self._a))
    else:
        def f(self, other):
            return _wrap(op(self._a, _unwrap(other)))
    return f


def _inplace(op):
    def f(self, other):
        op(self._a, _unwrap(other))
        return self
    return f


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("matmul", operator.matmul),
                   ("and", operator.and_), ("or", operator.or_), ("xor", operator.xor),
                   ("lshift", operator.lshift), ("rshift", operator.rshift)]:
    setattr(StrictArray, f"__{_name}__", _binary(_op))
    setattr(StrictArray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(StrictArray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name, _op in [("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge)]:
    setattr(StrictArray, f"__{_name}__", _binary(_op))
for _name, _op in [("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs),
                   ("invert", operator.invert)]:
    setattr(StrictArray, f"__{_name}__", (lambda op: lambda self: _wrap(op(self._a)))(_op))


# ---------------------------------------------------------------------- the namespace
# Functions that take host data and return a device array: the explicit moves.
_HOST_TO_DEVICE = {"asarray", "array", "asanyarray"}


class _Ufunc:
    """A NumPy ufunc on device arrays, with its methods (``add.at``, ``maximum.reduce``...)."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_unwrap(args), **_unwrap_kwargs(kwargs)))

    def __getattr__(self, name):
        attr = getattr(self._uf, name)
        if not callable(attr):
            return attr

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap_kwargs(kwargs)))
        return method


def _function(fn, name):
    if name in _HOST_TO_DEVICE:
        def move(obj, *args, **kwargs):
            if type(obj) is StrictArray:
                obj = obj._a
            elif isinstance(obj, (list, tuple)):
                obj = _np.array(_unwrap_mixed(obj))
            return StrictArray(fn(obj, *_unwrap(args), **_unwrap_kwargs(kwargs)))
        move.__name__ = name
        return move

    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **_unwrap_kwargs(kwargs)))
    call.__name__ = name
    call.__doc__ = getattr(fn, "__doc__", None)
    return call


def _unwrap_mixed(obj):
    """For ``asarray([...])``: device arrays inside a Python list are fine (CuPy stacks them)."""
    if type(obj) is StrictArray:
        return obj._a
    if type(obj) in (list, tuple):
        return [_unwrap_mixed(o) for o in obj]
    return obj


class _Namespace(types.ModuleType):
    """NumPy's namespace (or one of its submodules) over StrictArrays."""

    def __init__(self, module, name):
        super().__init__(name)
        self._module = module

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._module, name)
        if name == "ndarray":
            out = StrictArray
        elif isinstance(value, types.ModuleType):
            out = _Namespace(value, f"{self.__name__}.{name}")
        elif isinstance(value, _np.ufunc):
            out = _Ufunc(value)
        elif isinstance(value, type) or not callable(value) or name in ("errstate",):
            out = value                     # dtypes, scalar types, constants, context managers
        else:
            out = _function(value, name)
        setattr(self, name, out)            # cache: later lookups skip __getattr__
        return out

    def __repr__(self):
        return f"<strict stand-in for {self._module.__name__}>"


strict = _Namespace(_np, "strict")
