"""Write files that ``torch.load`` reads (the ``torch.save`` zip format), without torch.

The archive (see ``torch_pickle`` for the reader) holds, under one folder named ``archive``:

    archive/data.pkl        a protocol-2 pickle of the object; each tensor is the call
                            ``torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False,
                            OrderedDict())`` with the storage as the persistent id
                            ``('storage', torch.FloatStorage, '<key>', 'cpu', numel)``
    archive/data/<key>      each storage's raw little-endian bytes, 64-byte aligned
    archive/byteorder       'little'
    archive/version         '3'

Nothing is copied on the way: the plan (``plan(obj)``) holds the pickle and the arrays, and
``write`` streams each storage from the array's own memory into the zip in chunks (a copy is
made only of an array that is not contiguous little-endian, one at a time).

The pickle is emitted opcode by opcode rather than by ``pickle.Pickler``, because the global
names it must reference (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``) cannot be
imported here: torch is not a dependency.  Only what ``torch.load(weights_only=True)`` (torch's
default) accepts is written: dicts (plain and ``OrderedDict``), lists, tuples, str, int, float,
bool, None, and tensors / Parameters / NumPy arrays of the dtypes below.  A tensor held twice
(tied weights) is written once and comes back as one shared storage, as torch would save it.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from . import _tensors

# NumPy dtype name -> torch's storage class for it
_STORAGE = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage",
}
_ALIGN = 64                     # torch aligns each storage record (so it can be mmap-ed)
_ZIP64_EXTRA = 20               # the zip64 sizes zipfile adds to a large member's local header
FOLDER = "archive"
WRITE_CHUNK_BYTES = 16 * 1024 * 1024


class _Pickle:
    """A protocol-2 pickle written opcode by opcode (the opcodes are the ``pickle`` module's)."""

    def __init__(self):
        self.out = io.BytesIO()
        self.op("PROTO", b"\x02")

    def op(self, name, payload=b""):
        self.out.write(getattr(pickle, name) + payload)

    def global_(self, module, name):
        self.op("GLOBAL", f"{module}\n{name}\n".encode("ascii"))

    def str_(self, s):
        data = s.encode("utf-8")
        self.op("BINUNICODE", struct.pack("<I", len(data)) + data)

    def int_(self, v):
        if -(2 ** 31) <= v < 2 ** 31:
            self.op("BININT", struct.pack("<i", v))
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.op("LONG1", struct.pack("<B", len(data)) + data)

    def finish(self):
        self.op("STOP")
        return self.out.getvalue()


class _Writer:
    def __init__(self):
        self.p = _Pickle()
        self.storages = []          # (key, array) in order
        self.keys = {}              # id of the saved array -> (key, array) it was written as

    def fail(self, where, what):
        raise TypeError(f"save(format='torch'): {where or 'the object'} is {what}; a torch file "
                        "holds dicts, lists, tuples, str, int, float, bool, None and tensors")

    def value(self, x, where):
        p = self.p
        if x is None:
            p.op("NONE")
        elif isinstance(x, (bool, np.bool_)):
            p.op("NEWTRUE" if x else "NEWFALSE")
        elif isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            p.int_(int(x))
        elif isinstance(x, (float, np.floating)):
            p.op("BINFLOAT", struct.pack(">d", float(x)))
        elif isinstance(x, str):
            p.str_(x)
        elif _tensors.is_parameter(x):
            p.global_("torch._utils", "_rebuild_parameter")
            p.op("MARK")
            self.tensor(_tensors.to_host(x), where)
            p.op("NEWTRUE" if x.requires_grad else "NEWFALSE")
            self.empty_ordered_dict()
            p.op("TUPLE")
            p.op("REDUCE")
        elif _tensors.is_tensor(x):
            self.tensor(_tensors.to_host(x), where)
        elif isinstance(x, np.ndarray):
            self.tensor(x, where)
        elif isinstance(x, dict):
            if isinstance(x, collections.OrderedDict):
                self.empty_ordered_dict()
            else:
                p.op("EMPTY_DICT")
            if x:
                p.op("MARK")
                for k, v in x.items():
                    if not isinstance(k, (str, int)) or isinstance(k, bool):
                        self.fail(f"{where}, key {k!r},", f"a {type(k).__name__} dict key")
                    self.value(k, where)
                    self.value(v, f"{where}[{k!r}]")
                p.op("SETITEMS")
        elif isinstance(x, list):
            p.op("EMPTY_LIST")
            if x:
                p.op("MARK")
                for i, v in enumerate(x):
                    self.value(v, f"{where}[{i}]")
                p.op("APPENDS")
        elif isinstance(x, tuple):
            p.op("MARK")
            for i, v in enumerate(x):
                self.value(v, f"{where}[{i}]")
            p.op("TUPLE")
        else:
            self.fail(where, f"a {type(x).__name__}")

    def empty_ordered_dict(self):
        self.p.global_("collections", "OrderedDict")
        self.p.op("EMPTY_TUPLE")
        self.p.op("REDUCE")

    def tensor(self, a, where):
        """``_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())``."""
        name = _STORAGE.get(a.dtype.name)
        if name is None:
            self.fail(where, f"a tensor of dtype {a.dtype.name}, which torch files here do not hold")
        seen = self.keys.get(id(a))
        if seen is not None and seen[1] is a:
            key = seen[0]
        else:
            key = str(len(self.storages))
            self.storages.append((key, a))
            self.keys[id(a)] = (key, a)          # keep a alive so its id stays its own
        p = self.p
        p.global_("torch._utils", "_rebuild_tensor_v2")
        p.op("MARK")
        p.op("MARK")                                         # the persistent id tuple
        p.str_("storage")
        p.global_("torch", name)
        p.str_(key)
        p.str_("cpu")
        p.int_(a.size)
        p.op("TUPLE")
        p.op("BINPERSID")
        p.int_(0)
        self.ints(a.shape)
        self.ints(_contiguous_strides(a.shape))
        p.op("NEWFALSE")
        self.empty_ordered_dict()
        p.op("TUPLE")
        p.op("REDUCE")

    def ints(self, values):
        self.p.op("MARK")
        for v in values:
            self.p.int_(int(v))
        self.p.op("TUPLE")


def _contiguous_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _aligned_info(zf, name, nbytes):
    """A ZipInfo for an uncompressed member of ``nbytes`` whose data will start on a multiple
    of _ALIGN bytes from the start of the archive: an extra field pads the local header."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = nbytes
    zip64 = nbytes * 1.05 > zipfile.ZIP64_LIMIT          # zipfile's own rule
    start = zf.fp.tell() + 30 + len(name.encode("utf-8"))    # 30: the local header's fixed part
    start += 4 + (_ZIP64_EXTRA if zip64 else 0)              # 4: the padding field's own header
    pad = -start % _ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    return info


def _stored(zf, name, data: bytes):
    zf.writestr(_aligned_info(zf, name, len(data)), data)


def _little_endian_bytes(a: np.ndarray) -> np.ndarray:
    """The array's C-order little-endian bytes as a flat uint8 array (a view when possible)."""
    if a.dtype.byteorder == ">" or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False)
    return a.reshape(-1).view(np.uint8)


def _stream(zf, name, a, on_chunk, written):
    raw = _little_endian_bytes(a)
    with zf.open(_aligned_info(zf, name, raw.size), mode="w") as dest:
        for start in range(0, raw.size, WRITE_CHUNK_BYTES):
            chunk = raw[start:start + WRITE_CHUNK_BYTES]
            dest.write(memoryview(chunk))
            written += chunk.size
            if on_chunk is not None:
                on_chunk(written)
    return written


def plan(obj) -> _Writer:
    """The pickle and the storages of ``obj``; raises TypeError for what a torch file cannot
    hold, before anything is written."""
    w = _Writer()
    w.value(obj, "the object")
    w.pickle = w.p.finish()
    return w


def write(plan: _Writer, fh, on_chunk=None) -> None:
    """Write a ``plan`` to the binary file object ``fh`` in the ``torch.save`` zip format.
    ``on_chunk(bytes_written)`` is called after each chunk of storage data."""
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        _stored(zf, f"{FOLDER}/data.pkl", plan.pickle)
        _stored(zf, f"{FOLDER}/byteorder", b"little")
        written = 0
        for key, a in plan.storages:
            written = _stream(zf, f"{FOLDER}/data/{key}", a, on_chunk, written)
        _stored(zf, f"{FOLDER}/version", b"3\n")
