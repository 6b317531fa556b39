"""Read files written by ``torch.save`` without importing torch.

A ``torch.save`` file (PyTorch >= 1.6) is a zip archive with one top-level folder (named after
the file, e.g. ``archive/``) holding:

    <folder>/data.pkl      a pickle of the saved object; each tensor is pickled as a call of
                           ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
                           whose storage is a *persistent id*
                           ``('storage', torch.FloatStorage, '<key>', '<device>', numel)``
    <folder>/data/<key>    the raw bytes of each storage
    <folder>/byteorder     'little' or 'big' (absent in old files: little)

Unpickling is the dangerous part: a pickle can call any importable function.  This reader's
unpickler resolves only the few names a state dict needs (the tensor and parameter rebuild
functions, the storage classes, dtype objects, ``collections.OrderedDict``, ``torch.Size`` and
a handful of value builtins) to layerwise's own stand-ins, and refuses every other name with a
:class:`CheckpointError` before anything is called.  Before unpickling, the pickle's opcodes
are walked without running them (``check_pickle``), so that no size it declares (a memo index,
a frame) can exceed what its bytes can hold.  The unpickled result is then checked again: only
plain values, containers and tensors may come out.

Tensors are views of their storage, as in torch: two tensors on one storage share memory, a
transposed or sliced tensor is a strided view, and an expanded one (stride 0) is a read-only
view that costs no more memory than its storage, however large its shape.  NumPy has no
bfloat16, so bfloat16 storages are widened to float32 (exactly: a bfloat16 is the upper half of
a float32); uint16 and uint32 storages become int32 and int64, which hold every value exactly.
"""
from __future__ import annotations

import builtins
import collections
import io
import pickle
import pickletools
import zipfile

import numpy as np

from .. import dtypes as _dtypes
from . import _tensors
from .errors import CheckpointError
from .safetensors_format import bfloat16_to_float32
from .torch_archive import Archive

# torch dtype name -> (little-endian NumPy dtype of the stored words, layerwise dtype name)
_TORCH_DTYPES = {
    "float32": ("<f4", "float32"), "float64": ("<f8", "float64"), "float16": ("<f2", "float16"),
    "bfloat16": ("<u2", "float32"), "int64": ("<i8", "int64"), "int32": ("<i4", "int32"),
    "int16": ("<i2", "int16"), "int8": ("|i1", "int8"), "uint8": ("|u1", "uint8"),
    "bool": ("|b1", "bool"), "uint16": ("<u2", "int32"), "uint32": ("<u4", "int64"),
}
_TORCH_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16",
                        "long": "int64", "int": "int32", "short": "int16"}
_STORAGE_CLASSES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
MAX_DIMS = 64
_MAX_ARRAY_BYTES = 2**63 - 1
_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


class _Refused(Exception):
    pass


class _Inert:
    """Base of the stand-in objects the unpickler hands out: no instance dict, and a pickle
    that tries to modify one (the BUILD opcode) is refused."""
    __slots__ = ()

    def __setstate__(self, state):
        raise _Refused(f"the pickle tries to modify a {type(self).__name__}; refusing to load")


class _StorageType(_Inert):
    __slots__ = ("dtype",)         # a torch dtype name, or None for UntypedStorage (bytes)

    def __init__(self, dtype):
        self.dtype = dtype


class _TorchDtype(_Inert):
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _StorageRef(_Inert):
    __slots__ = ("raw", "dtype", "key")

    def __init__(self, raw, dtype, key):
        self.raw, self.dtype, self.key = raw, dtype, key


class _TensorRecord(_Inert):
    __slots__ = ("values", "requires_grad", "parameter")

    def __init__(self, values, requires_grad, parameter=False):
        self.values, self.requires_grad, self.parameter = values, requires_grad, parameter


class _Callable(_Inert):
    """An allowed global: calling it calls ``fn``."""
    __slots__ = ("fn", "qualname")

    def __init__(self, fn, qualname):
        self.fn, self.qualname = fn, qualname

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _bytearray(data=b""):
    # ``bytearray(n)`` would allocate n bytes the file does not hold; torch pickles a
    # bytearray as bytearray(<bytes>) only.
    if not isinstance(data, (bytes, bytearray)):
        raise _Refused(f"the pickle calls bytearray({type(data).__name__}); only "
                       "bytearray(<bytes>) is allowed")
    return bytearray(data)


_FIXED, _LINES, _COUNTED = 0, 1, 2


def _opcode_table():
    """A list indexed by opcode byte of ``(name, kind, size, signed)``: the argument is
    ``size`` fixed bytes, ``size`` newline-terminated lines, or a ``size``-byte length and
    then that many bytes.  Built from pickletools' descriptions, so it covers every opcode
    Python knows; None for bytes that are no opcode."""
    counted = {pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
               pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
               pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
               pickletools.TAKEN_FROM_ARGUMENT8U: (8, False)}
    table = [None] * 256
    for op in pickletools.opcodes:
        arg = op.arg
        if arg is None or arg.n >= 0:
            spec = (_FIXED, 0 if arg is None else arg.n, False)
        elif arg.n == pickletools.UP_TO_NEWLINE:
            spec = (_LINES, 2 if arg.name.endswith("_pair") else 1, False)
        else:
            spec = (_COUNTED,) + counted[arg.n]
        table[op.code.encode("latin-1")[0]] = (op.name,) + spec
    return table


_OPCODES = _opcode_table()
_CHECKED = _MEMO_OPCODES | {"FRAME", "NEXT_BUFFER", "READONLY_BUFFER", "STOP"}


def _check_opcode(name, arg: bytes, pos, data, source):
    """The checks of the few opcodes that declare sizes; True at STOP."""
    n = len(data)
    if name in _MEMO_OPCODES:
        index = int(arg) if name in ("PUT", "GET") else int.from_bytes(arg, "little")
        if index >= n:
            raise CheckpointError(source, f"the pickle names memo slot {index} (opcode {name} at "
                                          f"byte {pos}), more than a {n}-byte pickle can fill")
    elif name == "FRAME" and int.from_bytes(arg, "little") > n - pos - 9:
        raise CheckpointError(source, f"the pickle declares a {int.from_bytes(arg, 'little')}-byte "
                                      f"frame at byte {pos} of {n}")
    elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
        raise CheckpointError(source, "the pickle refers to out-of-band buffers, which torch "
                                      "files do not use")
    return name == "STOP"


def check_pickle(data: bytes, source) -> None:
    """Walk the pickle's opcodes without running them and refuse one whose declared sizes
    exceed what its bytes can hold: a memo index (the C unpickler grows its memo table to the
    largest index a PUT names: ``LONG_BINPUT 2**28`` alone would cost 4 GiB), a frame, or a
    counted string or bytes longer than what follows (the C unpickler allocates the declared
    length before reading).  One tight loop: about half a microsecond per opcode."""
    pos, n, table, from_bytes = 0, len(data), _OPCODES, int.from_bytes
    try:
        while pos < n:
            spec = table[data[pos]]
            if spec is None:
                raise ValueError(f"unknown opcode {data[pos]:#04x} at byte {pos}")
            name, kind, size, signed = spec
            start = pos + 1
            if kind == _FIXED:
                end = start + size
            elif kind == _COUNTED:
                end = start + size + from_bytes(data[start:start + size], "little", signed=signed)
                if end < start + size:
                    raise ValueError(f"a negative length in opcode {name} at byte {pos}")
            else:
                end = data.find(b"\n", start) + 1
                if size == 2 and end:
                    end = data.find(b"\n", end) + 1
                if not end:
                    raise ValueError(f"opcode {name} at byte {pos} has no end of line")
            if end > n:
                raise ValueError(f"opcode {name} at byte {pos} declares {end - start} bytes of "
                                 f"argument, more than the {n - start} that follow it")
            if name in _CHECKED and _check_opcode(name, data[start:end], pos, data, source):
                return
            pos = end
        raise ValueError("it has no STOP opcode")
    except ValueError as e:            # also a PUT/GET whose decimal argument is no number
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(source, f"the pickle is damaged ({e})") from None


def _may_overlap(size, stride) -> bool:
    """Whether two indices of a view may reach the same element (then it is read-only, as a
    write through it would change several elements).  Sufficient test: sorted by stride,
    each dimension must step over everything the smaller ones span."""
    span = 0
    for st, s in sorted((st, s) for s, st in zip(size, stride) if s > 1):
        if st <= span:
            return True
        span += st * (s - 1)
    return False


class _Reader:
    def __init__(self, archive: Archive, byteorder: str, source):
        self.archive, self.source = archive, source
        self.byteorder = "<" if byteorder == "little" else ">"
        self.storages = {}        # key -> (dtype name or None, raw bytes)
        self.typed = {}           # (key, dtype name) -> the storage as a flat layerwise array

    def fail(self, problem):
        raise CheckpointError(self.source, problem)

    # -------------------------------------------------------------- pickle hooks
    def find_class(self, module, name):
        qual = f"{module}.{name}"
        if module == "collections" and name in ("OrderedDict", "Counter"):
            return _Callable(getattr(collections, name), qual)
        if module == "torch._utils":
            fn = {"_rebuild_tensor": self.rebuild_tensor_v1,
                  "_rebuild_tensor_v2": self.rebuild_tensor_v2,
                  "_rebuild_tensor_v3": self.rebuild_tensor_v3,
                  "_rebuild_parameter": self.rebuild_parameter,
                  "_rebuild_parameter_with_state": self.rebuild_parameter_with_state}.get(name)
            if fn is not None:
                return _Callable(fn, qual)
        if module == "torch":
            if name in _STORAGE_CLASSES:
                return _StorageType(_STORAGE_CLASSES[name])
            if name == "UntypedStorage":
                return _StorageType(None)
            if name in _TORCH_DTYPES or name in _TORCH_DTYPE_ALIASES:
                return _TorchDtype(_TORCH_DTYPE_ALIASES.get(name, name))
            if name == "Size":
                return _Callable(_make_size, qual)
        if module == "torch.storage" and name == "UntypedStorage":
            return _StorageType(None)
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "complex"):
            return _Callable(getattr(builtins, name), qual)
        if module in ("builtins", "__builtin__") and name == "bytearray":
            return _Callable(_bytearray, qual)
        if module == "_codecs" and name == "encode":
            return _Callable(self.codecs_encode, qual)
        hint = ""
        if module.startswith(("torch.nn", "__main__", "__torch__")):
            hint = " (save and load model.state_dict() rather than the model object)"
        elif module.split(".")[0] == "numpy":
            hint = " (NumPy objects inside torch files are not loaded; store tensors instead)"
        self.fail(f"refusing to unpickle global '{qual}': only tensors, state dicts and plain "
                  f"values can be loaded without torch{hint}")

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or not _is_index(pid[4])):
            self.fail(f"unsupported persistent id in the pickle: {pid!r}")
        stype, key, numel = pid[1], pid[2], pid[4]
        itemsize = 1 if stype.dtype is None else np.dtype(_TORCH_DTYPES[stype.dtype][0]).itemsize
        if key not in self.storages:
            self.storages[key] = (stype.dtype, self.archive.storage(key, numel, itemsize))
        dtype, raw = self.storages[key]
        if dtype != stype.dtype:
            self.fail(f"storage '{key}' is used as {_storage_name(dtype)} and as "
                      f"{_storage_name(stype.dtype)}; torch writes one type per storage")
        if raw.size != numel * itemsize:
            self.fail(f"storage '{key}' is used with two different sizes")
        return _StorageRef(raw, dtype, key)

    # -------------------------------------------------------------- allowed globals
    def codecs_encode(self, text, encoding="utf-8"):
        # pickle protocol 2 writes bytes objects as _codecs.encode(str, 'latin1')
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            self.fail(f"refusing _codecs.encode with encoding {encoding!r}")
        return text.encode("latin1")

    def rebuild_tensor_v1(self, storage, storage_offset, size, stride):
        return self._tensor(storage, None, storage_offset, size, stride, False)

    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        return self._tensor(storage, None, storage_offset, size, stride, requires_grad)

    def rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad,
                          backward_hooks, dtype, metadata=None):
        if not isinstance(dtype, _TorchDtype):
            self.fail(f"_rebuild_tensor_v3 got {dtype!r} where a dtype belongs")
        if isinstance(storage, _StorageRef) and storage.dtype not in (None, dtype.name):
            self.fail(f"a torch.{dtype.name} tensor on storage '{storage.key}' of "
                      f"{_storage_name(storage.dtype)}")
        return self._tensor(storage, dtype.name, storage_offset, size, stride, requires_grad)

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None):
        if not isinstance(data, _TensorRecord):
            self.fail("_rebuild_parameter got something other than a tensor")
        return _TensorRecord(data.values, bool(requires_grad), parameter=True)

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        # ``state`` holds extra Python attributes set on the torch Parameter; they are dropped.
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    # -------------------------------------------------------------- tensors as views
    def _typed_storage(self, storage: _StorageRef, dtype: str) -> np.ndarray:
        """The storage's elements as a flat array of the layerwise dtype, converted once per
        storage (byte order, bfloat16 and unsigned widening), so its views share it."""
        cached = self.typed.get((storage.key, dtype))
        if cached is not None:
            return cached
        word, lw_name = _TORCH_DTYPES[dtype]
        word = np.dtype(word)
        if word.itemsize > 1:
            word = word.newbyteorder(self.byteorder)
        raw = storage.raw
        typed = raw[:raw.size - raw.size % word.itemsize].view(word)
        if dtype == "bfloat16":
            typed = bfloat16_to_float32(typed)
        elif not typed.dtype.isnative:
            typed = typed.astype(typed.dtype.newbyteorder("="))
        target = _dtypes.as_dtype(lw_name).np
        if typed.dtype != target:
            typed = typed.astype(target)
        self.typed[(storage.key, dtype)] = typed
        return typed

    def _check_layout(self, storage, offset, size, stride):
        if (not _is_index(offset) or not isinstance(size, tuple) or not isinstance(stride, tuple)
                or len(size) != len(stride) or not all(_is_index(v) for v in size + stride)):
            self.fail(f"tensor on storage '{storage.key}' has an invalid layout: offset={offset!r} "
                      f"size={size!r} stride={stride!r}")
        if len(size) > MAX_DIMS:
            self.fail(f"a tensor on storage '{storage.key}' has {len(size)} dimensions; at most "
                      f"{MAX_DIMS} are supported")
        extent = 8
        for s in size:
            extent *= max(s, 1)
        if extent > _MAX_ARRAY_BYTES:
            self.fail(f"a tensor of size {size} on storage '{storage.key}' has more elements "
                      "than an array can index")

    def _view(self, typed, storage, offset, size, stride):
        numel = 1
        for s in size:
            numel *= s
        if numel == 0:
            return np.empty(size, typed.dtype)
        last = offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= typed.size:
            self.fail(f"a tensor of size {size}, stride {stride}, offset {offset} reaches "
                      f"element {last} of storage '{storage.key}' which has {typed.size}")
        expected, contiguous = 1, True
        for s, st in zip(reversed(size), reversed(stride)):
            if s != 1 and st != expected:
                contiguous = False
            expected *= s
        if contiguous:
            return typed[offset:offset + numel].reshape(size)
        return np.lib.stride_tricks.as_strided(
            typed[offset:], shape=size, strides=tuple(st * typed.itemsize for st in stride),
            writeable=not _may_overlap(size, stride))

    def _tensor(self, storage, dtype, offset, size, stride, requires_grad):
        if not isinstance(storage, _StorageRef):
            self.fail(f"a tensor in the pickle is built from {type(storage).__name__}, not a "
                      "storage of the archive")
        dtype = dtype or storage.dtype
        if dtype is None:
            self.fail(f"tensor on untyped storage '{storage.key}' has no dtype")
        if dtype not in _TORCH_DTYPES:
            self.fail(f"tensor dtype torch.{dtype} is not supported by layerwise (supported: "
                      + ", ".join(_TORCH_DTYPES) + ")")
        self._check_layout(storage, offset, size, stride)
        typed = self._typed_storage(storage, dtype)
        return _TensorRecord(self._view(typed, storage, offset, size, stride), bool(requires_grad))


def _storage_name(dtype):
    return "untyped bytes" if dtype is None else dtype


def _make_size(dims=()):
    return _tensors.Size(tuple(dims))


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, reader: _Reader):
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._reader = reader

    def find_class(self, module, name):
        return self._reader.find_class(module, name)

    def persistent_load(self, pid):
        return self._reader.persistent_load(pid)


_PLAIN = (str, int, float, bool, type(None), bytes, complex)
_DICTS = (dict, collections.OrderedDict, collections.Counter)


class _Finisher:
    """Replaces the stand-ins by layerwise objects and refuses anything unexpected.  Lists and
    dicts are finished in place (the unpickled containers become the result), so the walk
    costs no copy of the structure; ``done`` maps each visited object to its result, which
    keeps shared objects shared and makes cycles terminate."""

    def __init__(self, source):
        self.source, self.done, self.active = source, {}, set()

    def fail(self, problem):
        raise CheckpointError(self.source, problem)

    def __call__(self, x):
        t = type(x)
        if t in _PLAIN:
            return x
        if id(x) in self.done:
            return self.done[id(x)]
        if t is _TensorRecord:
            out = _tensors.to_tensor(x.values, parameter=x.parameter,
                                     requires_grad=x.requires_grad)
        elif t is _TorchDtype:
            out = self.dtype(x)
        elif t is list:
            out = self.done[id(x)] = x
            for i, v in enumerate(x):
                x[i] = self(v)
        elif t in _DICTS:
            out = self.dict(x)
        elif t in (tuple, _tensors.Size, set, frozenset, bytearray):
            out = self.immutable(x)
        elif isinstance(x, (_StorageRef, _StorageType)):
            self.fail("the file holds a bare torch storage, not a tensor; layerwise loads "
                      "tensors and state dicts")
        else:
            self.fail(f"unexpected {t.__name__} object in the unpickled data")
        self.done[id(x)] = out
        return out

    def dtype(self, x):
        _, lw_name = _TORCH_DTYPES[x.name]
        if lw_name != x.name:
            self.fail(f"the file holds the dtype torch.{x.name}, which layerwise does not have")
        return _dtypes.as_dtype(x.name)

    def dict(self, x):
        t = type(x)
        attributes = dict(getattr(x, "__dict__", {}))
        meta = attributes.pop("_metadata", None) if t is collections.OrderedDict else None
        if attributes:       # set by a BUILD opcode; they could shadow the dict's methods
            self.fail(f"the pickle sets the attribute {next(iter(attributes))!r} on a "
                      f"{t.__name__}; only torch's state_dict '_metadata' may be set")
        if all(type(k) in _PLAIN for k in dict.keys(x)):
            out = self.done[id(x)] = x                  # finish the values in place
            for k, v in dict.items(x):
                dict.__setitem__(x, k, self(v))
        else:                                           # keys to finish: build a new dict
            out = self.done[id(x)] = t()
            for k, v in dict.items(x):
                out[self(k)] = self(v)
        if meta is not None:        # torch's state_dict()._metadata (module versions)
            out._metadata = self(meta)
        return out

    def immutable(self, x):
        if id(x) in self.active:
            self.fail("the pickle holds a self-referencing tuple or set")
        self.active.add(id(x))
        if type(x) is bytearray:
            out = bytes(x)
        else:
            out = type(x)(self(v) for v in x)
        self.active.discard(id(x))
        return out


def _unpickle(archive: Archive, source):
    byteorder = "little"
    if archive.has("byteorder"):
        byteorder = archive.read("byteorder", limit=16).decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointError(source, f"unknown byteorder record {byteorder!r}")
    data = archive.read("data.pkl")
    check_pickle(data, source)
    result = _Unpickler(data, _Reader(archive, byteorder, source)).load()
    return _Finisher(source)(result)


def load(f, source, size=None, mmap=False):
    """Load a torch.save zip archive from the binary file object ``f`` (``size`` bytes long);
    with ``mmap=True`` the storages are copy-on-write maps of the file."""
    if size is None:
        size = f.seek(0, io.SEEK_END)
        f.seek(0)
    try:
        with zipfile.ZipFile(f) as zf:
            return _unpickle(Archive(zf, f, size, source, mmap=mmap), source)
    except CheckpointError:
        raise
    except _Refused as e:
        raise CheckpointError(source, str(e)) from None
    except RecursionError:
        raise CheckpointError(source, "the pickle is nested too deeply") from None
    except Exception as e:       # zipfile/pickle errors on damaged files: say what and where
        raise CheckpointError(source, f"cannot read the torch archive, the file is damaged or not "
                                      f"a torch.save file ({type(e).__name__}: {e})") from None
