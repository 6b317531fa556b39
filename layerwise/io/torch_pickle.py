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
:class:`CheckpointError` before anything is called.  The unpickled result is then checked again:
only plain values, containers and tensors may come out.

Tensors are rebuilt from their storage with NumPy: a contiguous view shares the storage buffer
(two tensors on one storage share memory, as in torch); a strided view (``t.T``, an expanded
tensor) is gathered with ``as_strided`` and copied.  NumPy has no bfloat16, so bfloat16 tensors
come back as float32 (exactly: a bfloat16 is the upper half of a float32); uint16 and uint32
tensors come back as int32 and int64, which hold every value exactly.
"""
from __future__ import annotations

import collections
import io
import pickle
import zipfile

import numpy as np

from .. import dtypes as _dt
from .errors import CheckpointError
from .safetensors_format import bfloat16_to_float32

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
    __slots__ = ("array", "requires_grad", "parameter")

    def __init__(self, array, requires_grad, parameter=False):
        self.array, self.requires_grad, self.parameter = array, requires_grad, parameter


class _Callable(_Inert):
    """An allowed global: calling it calls ``fn``."""
    __slots__ = ("fn", "qualname")

    def __init__(self, fn, qualname):
        self.fn, self.qualname = fn, qualname

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, folder: str, byteorder: str, source):
        self.zf, self.folder, self.source = zf, folder, source
        self.byteorder = "<" if byteorder == "little" else ">"
        self.storages = {}

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
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "bytearray",
                                                               "complex"):
            import builtins
            return _Callable(getattr(builtins, name), qual)
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
        raw = self.storages.get(key)
        if raw is None:
            member = f"{self.folder}/data/{key}"
            try:
                info = self.zf.getinfo(member)
            except KeyError:
                self.fail(f"storage '{key}' is missing from the archive (no '{member}')")
            if info.file_size != numel * itemsize:
                self.fail(f"storage '{key}' holds {info.file_size} bytes but the pickle says "
                          f"{numel} elements of {itemsize} bytes")
            raw = np.empty(info.file_size, np.uint8)
            with self.zf.open(info) as m:
                view, got = memoryview(raw), 0
                while got < raw.size:
                    n = m.readinto(view[got:])
                    if not n:
                        self.fail(f"storage '{key}' ended early (archive truncated?)")
                    got += n
            self.storages[key] = raw
        elif raw.size != numel * itemsize:
            self.fail(f"storage '{key}' is used with two different sizes")
        return _StorageRef(raw, stype.dtype, key)

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
        return self._tensor(storage, dtype.name, storage_offset, size, stride, requires_grad)

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None):
        if not isinstance(data, _TensorRecord):
            self.fail("_rebuild_parameter got something other than a tensor")
        return _TensorRecord(data.array, bool(requires_grad), parameter=True)

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        # ``state`` holds extra Python attributes set on the torch Parameter; they are dropped.
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

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
        if (not _is_index(offset) or not isinstance(size, tuple) or not isinstance(stride, tuple)
                or len(size) != len(stride) or not all(_is_index(v) for v in size + stride)):
            self.fail(f"tensor on storage '{storage.key}' has an invalid layout: offset={offset!r} "
                      f"size={size!r} stride={stride!r}")
        word, lw_name = _TORCH_DTYPES[dtype]
        word = np.dtype(word).newbyteorder(self.byteorder) if np.dtype(word).itemsize > 1 \
            else np.dtype(word)
        raw = storage.raw
        usable = raw.size - raw.size % word.itemsize
        typed = raw[:usable].view(word)
        numel = 1
        for s in size:
            numel *= s
        if numel == 0:
            arr = np.zeros(size, word)
        else:
            last = offset + sum((s - 1) * st for s, st in zip(size, stride))
            if last >= typed.size:
                self.fail(f"a tensor of size {size}, stride {stride}, offset {offset} reaches "
                          f"element {last} of storage '{storage.key}' which has {typed.size}")
            expected, contiguous = 1, True
            for s, st in zip(reversed(size), reversed(stride)):
                if s != 1 and st != expected:
                    contiguous = False
                expected *= s
            if contiguous:      # a view: tensors on one storage keep sharing memory
                arr = typed[offset:offset + numel].reshape(size)
            else:
                arr = np.lib.stride_tricks.as_strided(
                    typed[offset:], shape=size, strides=tuple(st * word.itemsize for st in stride),
                    writeable=False).copy()
        if dtype == "bfloat16":
            arr = bfloat16_to_float32(arr)
        elif not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if arr.dtype != _dt.as_dtype(lw_name).np:
            arr = arr.astype(_dt.as_dtype(lw_name).np)
        return _TensorRecord(arr, bool(requires_grad))


def _make_size(dims=()):
    from ..tensor import Size
    return Size(tuple(dims))


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, reader: _Reader):
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._reader = reader

    def find_class(self, module, name):
        return self._reader.find_class(module, name)

    def persistent_load(self, pid):
        return self._reader.persistent_load(pid)


_PLAIN = (str, int, float, bool, type(None), bytes, complex)


def _finish(x, source, memo, active):
    """Replace the stand-ins by layerwise objects and refuse anything unexpected."""
    t = type(x)
    if t in _PLAIN:
        return x
    key = id(x)
    if key in memo:
        return memo[key]
    if t is _TensorRecord:
        from ..nn.parameter import Parameter
        from ..tensor import from_numpy
        out = Parameter(x.array, x.requires_grad) if x.parameter else from_numpy(x.array)
        memo[key] = out
        return out
    if t is _TorchDtype:
        _, lw_name = _TORCH_DTYPES[x.name]
        if lw_name != x.name:
            raise CheckpointError(source, f"the file holds the dtype torch.{x.name}, which "
                                          "layerwise does not have")
        return _dt.as_dtype(x.name)
    if t is list:
        out = memo[key] = []
        out.extend(_finish(v, source, memo, active) for v in x)
        return out
    if t is dict or t is collections.OrderedDict or t is collections.Counter:
        out = memo[key] = t()
        for k, v in x.items():
            out[_finish(k, source, memo, active)] = _finish(v, source, memo, active)
        meta = getattr(x, "__dict__", {}).get("_metadata")
        if meta is not None:        # torch's state_dict()._metadata (module versions)
            out._metadata = _finish(meta, source, memo, active)
        return out
    from ..tensor import Size
    if t in (tuple, Size, set, frozenset, bytearray):
        if key in active:
            raise CheckpointError(source, "the pickle holds a self-referencing tuple or set")
        active.add(key)
        out = memo[key] = t(_finish(v, source, memo, active) for v in x) if t is not bytearray \
            else bytes(x)
        active.discard(key)
        return out
    if isinstance(x, (_StorageRef, _StorageType)):
        raise CheckpointError(source, "the file holds a bare torch storage, not a tensor; "
                                      "layerwise loads tensors and state dicts")
    raise CheckpointError(source, f"unexpected {t.__name__} object in the unpickled data")


def _find_folder(zf: zipfile.ZipFile, source) -> str:
    names = zf.namelist()
    if any(n.endswith("/constants.pkl") and n.count("/") == 1 for n in names):
        raise CheckpointError(source, "this is a TorchScript archive (torch.jit.save), not a "
                                      "torch.save file; save the model's state_dict() instead")
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) == 1:
        return pkl[0][: -len("/data.pkl")]
    if len(pkl) > 1:
        raise CheckpointError(source, "zip archive holds several top-level folders with a "
                                      "data.pkl: " + ", ".join(pkl))
    raise CheckpointError(source, "zip archive has no '<folder>/data.pkl': not a file written by "
                                  "torch.save")


def load(f, source):
    """Load a torch.save zip archive from the binary file object ``f``."""
    try:
        with zipfile.ZipFile(f) as zf:
            folder = _find_folder(zf, source)
            byteorder = "little"
            if f"{folder}/byteorder" in zf.NameToInfo:
                byteorder = zf.read(f"{folder}/byteorder").decode("ascii", "replace").strip()
                if byteorder not in ("little", "big"):
                    raise CheckpointError(source, f"unknown byteorder record {byteorder!r}")
            reader = _Reader(zf, folder, byteorder, source)
            data = zf.read(f"{folder}/data.pkl")
            result = _Unpickler(data, reader).load()
            return _finish(result, source, {}, set())
    except CheckpointError:
        raise
    except _Refused as e:
        raise CheckpointError(source, str(e)) from None
    except RecursionError:
        raise CheckpointError(source, "the pickle is nested too deeply") from None
    except Exception as e:       # zipfile/pickle errors on damaged files: say what and where
        raise CheckpointError(source, f"cannot read the torch archive, the file is damaged or not "
                                      f"a torch.save file ({type(e).__name__}: {e})") from None
