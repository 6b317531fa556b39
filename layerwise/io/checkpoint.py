"""``save(obj, f)`` / ``load(f)``: checkpoints as single safetensors files, written atomically
and verified when read; ``load`` also reads ``torch.save`` files without torch.

The tensors of ``obj`` go into the safetensors tensor table; everything else (nesting, tuples
vs lists, int dict keys, NaN, bools, which tensors are Parameters, which share memory) goes as
typed JSON into the header metadata under the key ``"layerwise"``.  A flat ``{str: Tensor}``
state dict keeps its keys as the tensor names, so ``safetensors.torch.load_file`` reads it as
an ordinary state dict.  See docs/checkpoints.md.
"""
from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import secrets

import numpy as np

from .. import dtypes as _dt
from . import safetensors_format as _sf
from . import torch_pickle as _tp
from . import torch_writer as _tw
from .errors import CheckpointError

STRUCTURE_KEY = "layerwise"
FORMAT_VERSION = 1

# Called with the number of tensor bytes written so far after each chunk of a save (progress
# reporting; the tests use it to stall a writer and kill it mid-write).
_on_chunk = None


# ====================================================================== encoding
class _Encoder:
    def __init__(self, flat_names: bool):
        self.flat_names = flat_names
        self.arrays = {}          # tensor name -> ndarray, in order of first appearance
        self.by_view = {}         # (address, shape, strides, dtype) -> name: memory-sharing views
        self.object_ids = {}      # id(Tensor or ndarray) -> small int: the same object twice
        self.keepalive = []
        self.active = set()       # containers being encoded, to refuse cycles

    def _where(self, path):
        return "obj" + "".join(f"[{p!r}]" for p in path)

    def _name_for(self, arr, path):
        view = None
        if arr.size > 0:
            view = (arr.__array_interface__["data"][0], arr.shape, arr.strides, arr.dtype.str)
            if view in self.by_view:
                return self.by_view[view]
        base = str(path[-1]) if self.flat_names else ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self.arrays or name == "__metadata__":
            name, n = f"{base}#{n}", n + 1
        self.arrays[name] = arr
        if view is not None:
            self.by_view[view] = name
        return name

    def encode(self, x, path):
        from ..tensor import Size, Tensor
        if x is None or isinstance(x, (bool, str)):
            return x
        t = type(x)
        if t is int:
            return x
        if t is float:
            if math.isfinite(x):
                return x
            return {"$f": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        if isinstance(x, (Tensor, np.ndarray)):
            arr = x.array if isinstance(x, Tensor) else x
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"{self._where(path)}: tensor data is a {type(arr).__name__}")
            _sf.dtype_name(arr.dtype)                     # refuse unsupported dtypes early
            node = {"$t": self._name_for(arr, path)}
            if id(x) not in self.object_ids:
                self.object_ids[id(x)] = len(self.object_ids)
                self.keepalive.append(x)
            node["o"] = self.object_ids[id(x)]
            if isinstance(x, np.ndarray):
                node["k"] = "a"
            else:
                from ..nn.parameter import Parameter
                node["k"] = "p" if isinstance(x, Parameter) else "t"
                if x.requires_grad:
                    node["rg"] = True
            return node
        if isinstance(x, np.generic):
            _sf.dtype_name(x.dtype)
            return {"$np": x.dtype.str, "v": self.encode(x.item(), path)}
        if t is bytes:
            return {"$b": base64.b64encode(x).decode("ascii")}
        if isinstance(x, _dt.dtype):
            return {"$dt": x.name}
        if t in (list, tuple, Size) or isinstance(x, dict):
            if id(x) in self.active:
                raise ValueError(f"{self._where(path)}: the object contains itself; cannot save "
                                 "a recursive structure")
            self.active.add(id(x))
            try:
                if isinstance(x, dict):
                    items = [[self.encode(k, path + [f"<key {k!r}>"]), self.encode(v, path + [k])]
                             for k, v in x.items()]
                    return {"$od" if isinstance(x, collections.OrderedDict) else "$d": items}
                items = [self.encode(v, path + [i]) for i, v in enumerate(x)]
                if t is list:
                    return items
                return {"$sz" if t is Size else "$tu": items}
            finally:
                self.active.discard(id(x))
        raise TypeError(f"{self._where(path)}: cannot save an object of type {t.__module__}."
                        f"{t.__qualname__}; checkpoints hold dicts, lists, tuples, str, int, "
                        "float, bool, None, bytes, dtypes, Tensors and NumPy arrays")


def _is_flat_state_dict(obj) -> bool:
    from ..tensor import Tensor
    return (isinstance(obj, dict) and len(obj) > 0
            and all(isinstance(k, str) and k != "__metadata__" for k in obj)
            and all(isinstance(v, (Tensor, np.ndarray)) for v in obj.values()))


def _encode(obj):
    """(arrays, metadata) for ``obj``; raises TypeError/ValueError for what cannot be saved."""
    enc = _Encoder(flat_names=_is_flat_state_dict(obj))
    root = enc.encode(obj, [])
    structure = json.dumps({"version": FORMAT_VERSION, "root": root}, allow_nan=False,
                           separators=(",", ":"), ensure_ascii=False)
    return enc.arrays, {"format": "pt", STRUCTURE_KEY: structure}


# ====================================================================== decoding
class _Decoder:
    def __init__(self, arrays, source):
        self.arrays, self.source = arrays, source
        self.objects = {}

    def bad(self, what):
        raise CheckpointError(self.source, f"malformed layerwise structure in the metadata: {what}")

    def decode(self, x):
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [self.decode(v) for v in x]
        if not isinstance(x, dict) or len(x) == 0:
            self.bad(f"unexpected {x!r}")
        if "$t" in x:
            return self.tensor(x)
        tag, val = next(iter(x.items()))
        if tag in ("$d", "$od"):
            out = {} if tag == "$d" else collections.OrderedDict()
            if not isinstance(val, list):
                self.bad("dict items are not a list")
            for item in val:
                if not isinstance(item, list) or len(item) != 2:
                    self.bad("dict item is not a [key, value] pair")
                k = self.decode(item[0])
                try:
                    out[k] = self.decode(item[1])
                except TypeError:
                    self.bad(f"unhashable dict key {k!r}")
            return out
        if tag in ("$tu", "$sz"):
            if not isinstance(val, list):
                self.bad("tuple items are not a list")
            from ..tensor import Size
            return (tuple if tag == "$tu" else Size)(self.decode(v) for v in val)
        if tag == "$f":
            if val not in ("nan", "inf", "-inf"):
                self.bad(f"unknown special float {val!r}")
            return float(val)
        if tag == "$b":
            try:
                return base64.b64decode(val.encode("ascii"), validate=True)
            except (ValueError, AttributeError):
                self.bad("invalid base64 bytes")
        if tag == "$dt":
            try:
                return _dt.as_dtype(val)
            except TypeError:
                self.bad(f"unknown dtype {val!r}")
        if tag == "$np":
            try:
                if np.dtype(val).kind not in "biuf":
                    raise TypeError(val)
                return np.dtype(val).type(self.decode(x["v"]))
            except (TypeError, KeyError, ValueError, OverflowError):
                self.bad(f"invalid NumPy scalar {x!r}")
        self.bad(f"unknown tag {tag!r}")

    def tensor(self, x):
        name, oid, kind = x.get("$t"), x.get("o"), x.get("k")
        if name not in self.arrays:
            self.bad(f"reference to a tensor {name!r} that the file does not hold")
        if oid in self.objects:
            return self.objects[oid]
        arr = self.arrays[name]
        if kind == "a":
            out = arr
        elif kind in ("t", "p"):
            out = _to_tensor(arr, name, self.source, parameter=kind == "p",
                             requires_grad=bool(x.get("rg", False)))
            self.arrays[name] = out.array     # later references to this name share the memory
        else:
            self.bad(f"unknown tensor kind {kind!r}")
        self.objects[oid] = out
        return out


def _to_tensor(arr, name, source, parameter=False, requires_grad=False):
    from ..tensor import from_numpy
    if arr.dtype == np.uint16:
        arr = arr.astype(np.int32)
    elif arr.dtype == np.uint32:
        arr = arr.astype(np.int64)
    elif arr.dtype == np.uint64:
        if arr.size and arr.max() > np.iinfo(np.int64).max:
            raise CheckpointError(source, f"tensor {name!r} is uint64 with values beyond int64; "
                                          "layerwise has no uint64")
        arr = arr.astype(np.int64)
    if parameter:
        from ..nn.parameter import Parameter
        return Parameter(arr, requires_grad)
    t = from_numpy(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _load_safetensors(f, size, source):
    arrays, metadata = _sf.read(f, size, source)
    text = metadata.get(STRUCTURE_KEY)
    if text is None:           # a file from another writer: a flat state dict
        return {name: _to_tensor(arr, name, source) for name, arr in arrays.items()}
    try:
        structure = json.loads(text)
    except ValueError as e:
        raise CheckpointError(source, f"the layerwise structure metadata is not JSON ({e})") from None
    if not isinstance(structure, dict) or "root" not in structure:
        raise CheckpointError(source, "the layerwise structure metadata has no root object")
    if structure.get("version") != FORMAT_VERSION:
        raise CheckpointError(source, f"written by a newer layerwise (structure version "
                                      f"{structure.get('version')!r}); this one reads version "
                                      f"{FORMAT_VERSION}")
    try:
        return _Decoder(arrays, source).decode(structure["root"])
    except RecursionError:
        raise CheckpointError(source, "the structure metadata is nested too deeply") from None


# ====================================================================== atomic write
def _fsync_directory(directory: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return               # platforms where a directory cannot be opened (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass                 # some file systems refuse fsync on directories
    finally:
        os.close(fd)


def atomic_write(path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, flush and fsync it,
    then rename it onto ``path`` and fsync the directory.  If anything fails the temporary file
    is removed and whatever was at ``path`` before is untouched."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)    # keep the old file's permissions
        except OSError:
            pass
        with os.fdopen(fd, "wb") as fh:
            fd = None
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


# ====================================================================== public API
_TORCH_SUFFIXES = (".pt", ".pth")


def save(obj, f, format=None) -> None:
    """Save ``obj`` (any nesting of dict/list/tuple/str/int/float/bool/None/bytes/dtype/Tensor/
    ndarray) to ``f``, a path or a writable binary file object, as one safetensors file.

    ``format='torch'`` writes the ``torch.save`` zip format instead, which ``torch.load``
    reads directly (dicts, lists, tuples, str, int, float, bool, None and tensors only); it is
    the default for a path ending in ``.pt`` or ``.pth``.  ``format='safetensors'`` forces
    safetensors.

    Saving to a path is atomic: the file at ``f`` is either the complete new checkpoint or,
    whatever happens during the save (an exception, a full disk, the process killed), the
    previous one."""
    if format is None:
        path = None if hasattr(f, "write") else os.fspath(f)
        format = "torch" if path is not None and path.lower().endswith(_TORCH_SUFFIXES) \
            else "safetensors"
    if format == "torch":
        data = io.BytesIO()
        _tw.write(obj, data)                 # refuse unsavable objects before touching f
        payload = data.getvalue()

        def write(fh):
            fh.write(payload)
    elif format == "safetensors":
        arrays, metadata = _encode(obj)      # refuse unsavable objects before touching f

        def write(fh):
            _sf.write(fh, arrays, metadata, on_chunk=_on_chunk)
    else:
        raise ValueError(f"save: format must be 'safetensors' or 'torch', got {format!r}")

    if hasattr(f, "write"):
        write(f)
    else:
        atomic_write(f, write)


def _source_name(f):
    if hasattr(f, "read"):
        return getattr(f, "name", None) or repr(f)
    return os.fspath(f)


def _load_stream(fh, size, source):
    head = fh.read(9)
    fh.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _tp.load(fh, source)
    # safetensors first: its 8-byte header length may itself start with 0x80 (a length of
    # 128, 384, ...), which would otherwise look like a pickle's protocol opcode.
    if size >= 9 and head[8:9] == b"{":
        return _load_safetensors(fh, size, source)
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        raise CheckpointError(source, "this is a legacy (pre-1.6, non-zip) torch.save file, which "
                                      "layerwise does not read; re-save it with a current torch")
    if size < 9:
        raise CheckpointError(source, f"file is {size} bytes long, too short to be a checkpoint")
    raise CheckpointError(source, "not a checkpoint: neither a safetensors file (8-byte header "
                                  "length then '{') nor a torch.save zip archive; it starts with "
                                  f"{head[:9]!r}")


def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Load a checkpoint written by :func:`save`, by the ``safetensors`` library, or by
    ``torch.save`` (zip format), from a path or a readable binary file object.

    The file's structure is verified (and its checksums, when it has them) before anything is
    returned; a damaged or foreign file raises :class:`CheckpointError` naming the file and the
    problem.  Tensors come back as layerwise Tensors on the CPU.  ``map_location``,
    ``weights_only`` and ``mmap`` exist for torch compatibility: layerwise has only the CPU
    and never unpickles arbitrary objects."""
    from ..device import as_device, device
    if isinstance(map_location, (str, device)):
        as_device(map_location)              # 'cpu' is fine; 'cuda' raises as everywhere
    source = _source_name(f)
    if hasattr(f, "read"):
        if not (hasattr(f, "seekable") and f.seekable()):
            f = io.BytesIO(f.read())
        start = f.tell()
        size = f.seek(0, io.SEEK_END) - start
        f.seek(start)
        if start:
            f = io.BytesIO(f.read())
        return _load_stream(f, size, source)
    with open(source, "rb") as fh:
        return _load_stream(fh, os.fstat(fh.fileno()).st_size, source)
