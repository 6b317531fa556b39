"""The safetensors file format, written and read in pure NumPy, with full verification.

Layout (https://github.com/huggingface/safetensors, "Format")::

    8 bytes   N, the header length: unsigned 64-bit little-endian
    N bytes   the header: UTF-8 JSON, padded with spaces so that 8 + N is a multiple of 8
              {"__metadata__": {str: str, ...},
               "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
    rest      the tensor bytes, C order, little-endian; offsets count from the first byte after
              the header, and the tensors tile this region exactly (no gaps, no overlaps)

The writer stores tensors ordered by element size (largest first, then in the order given), so
with the 8-aligned header every tensor starts at a multiple of its element size, as the
reference implementation does.  It can add integrity digests under the metadata key
``layerwise.sha256``: a SHA-256 of the header (everything in it except that key, in a canonical
JSON form) and one SHA-256 per tensor.  The reader checks the structure of every file and the
digests of every file that has them.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from . import safetensors_header as _hdr
from .errors import CheckpointError

DIGEST_KEY = "layerwise.sha256"
MAX_HEADER_BYTES = 100 * 1024 * 1024     # the reference implementation's limit
WRITE_CHUNK_BYTES = 16 * 1024 * 1024

_DTYPES = _hdr.DTYPES     # safetensors dtype name -> little-endian NumPy dtype
_NAMES = {(d.kind, d.itemsize): name for name, d in _DTYPES.items() if name != "BF16"}


def dtype_name(npdtype: np.dtype) -> str:
    """The safetensors name of a NumPy dtype (``float32`` -> ``"F32"``)."""
    name = _NAMES.get((npdtype.kind, npdtype.itemsize))
    if name is None:
        raise TypeError(f"cannot store arrays of dtype {npdtype} in a checkpoint; supported: bool, "
                        "uint8/16/32/64, int8/16/32/64, float16/32/64")
    return name


def bfloat16_to_float32(words: np.ndarray) -> np.ndarray:
    """bfloat16 values (given as their uint16 bit patterns) as float32, exactly: a bfloat16 is
    the upper half of a float32, so shifting the bits up by 16 recovers the value."""
    return (words.astype(np.uint32) << np.uint32(16)).view(np.float32)


def _canonical_header_digest(metadata: dict, entries: dict) -> str:
    body = {"metadata": {k: v for k, v in metadata.items() if k != DIGEST_KEY},
            "tensors": {n: [e.dtype, list(e.shape), [e.begin, e.end]] for n, e in entries.items()}}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _as_bytes(arr: np.ndarray) -> np.ndarray:
    """The array's C-order little-endian bytes as a flat uint8 array (a view when possible)."""
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    return arr.reshape(-1).view(np.uint8)


def write(f, tensors: dict, metadata: dict | None = None, *, checksum: bool = True,
          on_chunk=None) -> None:
    """Write ``tensors`` (name -> NumPy array) and ``metadata`` (str -> str) to the binary file
    object ``f`` in safetensors format.  ``on_chunk(bytes_written)`` is called after each chunk
    of tensor data (a hook for progress reports and for tests)."""
    metadata = dict(metadata or {})
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"safetensors metadata must map str to str, got {k!r}: {v!r}")
    if "__metadata__" in tensors:
        raise ValueError("'__metadata__' is reserved and cannot name a tensor")
    items = []
    for name, arr in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        arr = np.asarray(arr)
        items.append((name, dtype_name(arr.dtype), arr.shape, _as_bytes(arr)))
    # Largest element size first keeps every tensor aligned to its element size.
    items.sort(key=lambda it: -_DTYPES[it[1]].itemsize)
    entries, offset = {}, 0
    for name, dt, shape, raw in items:
        entries[name] = _hdr.Entry(dt, tuple(int(s) for s in shape), offset, offset + raw.size)
        offset += raw.size
    if checksum:
        digests = {"header": _canonical_header_digest(metadata, entries),
                   "tensors": {name: hashlib.sha256(raw).hexdigest() for name, _, _, raw in items}}
        metadata[DIGEST_KEY] = json.dumps(digests, separators=(",", ":"))
        # the header digest excludes DIGEST_KEY itself, so computing it first is consistent
    header = {"__metadata__": metadata} if metadata else {}
    header.update((name, {"dtype": e.dtype, "shape": list(e.shape), "data_offsets": [e.begin, e.end]})
                  for name, e in entries.items())
    try:
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"a tensor name or metadata string cannot be encoded as UTF-8: {e}") from None
    text += b" " * (-(8 + len(text)) % 8)
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    written = 0
    for _, _, _, raw in items:
        for start in range(0, raw.size, WRITE_CHUNK_BYTES):
            chunk = raw[start:start + WRITE_CHUNK_BYTES]
            f.write(memoryview(chunk))
            written += chunk.size
            if on_chunk is not None:
                on_chunk(written)


def _readinto(f, buf: np.ndarray, source, what: str) -> None:
    view = memoryview(buf.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            raise CheckpointError(source, f"file ended while reading {what} (truncated?)")
        got += n


def _read_header_bytes(f, size: int, source) -> bytes:
    """The raw header, after checking its length field against the file size and the limit."""
    if size < 8:
        raise CheckpointError(source, f"file is {size} bytes long, too short to hold a "
                                      "safetensors header length (8 bytes)")
    n = int.from_bytes(f.read(8), "little")
    if n == 0:
        raise CheckpointError(source, "header length is 0")
    if n > size - 8:
        raise CheckpointError(source, f"header length field says {n} bytes but only {size - 8} "
                                      "bytes follow it (file truncated, or not a safetensors file)")
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(source, f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    raw = f.read(n)
    if len(raw) != n:
        raise CheckpointError(source, "file ended inside the header (truncated?)")
    return raw


def _check_tiling(header: dict, data_len: int, source) -> list:
    """The entries as ``(begin, end, name)`` in file order, after checking that they tile the
    data region exactly: no overlap, no gap, nothing missing, nothing left over."""
    entries = sorted((e.begin, e.end, name) for name, e in header.items())
    expected = 0
    for begin, end, name in entries:
        if begin < expected:
            raise CheckpointError(source, f"tensor {name!r}: data_offsets [{begin}, {end}] overlap "
                                          "the previous tensor's bytes")
        if begin > expected:
            raise CheckpointError(source, f"tensor {name!r}: gap of {begin - expected} unused bytes "
                                          "before its data (tensor data must be contiguous)")
        expected = end
    if expected > data_len:
        raise CheckpointError(source, f"header describes {expected} bytes of tensor data but the "
                                      f"file holds only {data_len} (truncated?)")
    if expected < data_len:
        raise CheckpointError(source, f"{data_len - expected} unexpected bytes after the tensor "
                                      "data (file damaged or appended to)")
    return entries


def _check_header_digest(metadata: dict, header: dict, source):
    """The per-tensor digests of a file that carries them (None for files of other writers),
    after checking the header digest."""
    if DIGEST_KEY not in metadata and "layerwise" not in metadata:
        return None
    # Files written by layerwise always carry digests; a structure without them means the
    # digest entry itself was damaged.
    try:
        digests = json.loads(metadata[DIGEST_KEY])
        ok = (isinstance(digests, dict) and isinstance(digests.get("header"), str)
              and isinstance(digests.get("tensors"), dict))
    except (KeyError, ValueError, RecursionError):
        ok = False
    if not ok:
        raise CheckpointError(source, f"integrity digest entry {DIGEST_KEY!r} is missing or "
                                      "malformed (header damaged?)")
    if _canonical_header_digest(metadata, header) != digests["header"]:
        raise CheckpointError(source, "header checksum mismatch: the header was altered or "
                                      "damaged after it was written")
    if set(digests["tensors"]) != set(header):
        raise CheckpointError(source, "the integrity digests do not list the same tensors as "
                                      "the header (header damaged?)")
    return digests["tensors"]


def _tensor_bytes(f, start: int, data_len: int, mmap: bool, source):
    """A function ``(begin, end, dtype, shape, name) -> array`` over the data region: reading
    each tensor into a fresh array, or viewing it in a copy-on-write map of the file."""
    if mmap and data_len:
        region = np.memmap(f, dtype=np.uint8, mode="c", offset=start, shape=(data_len,))
        region = region.view(np.ndarray)        # a plain array; it keeps the map alive

        def view(begin, end, dtype, shape, name):
            return region[begin:end].view(dtype).reshape(shape)
        return view

    def read_one(begin, end, dtype, shape, name):
        arr = np.empty(shape, dtype=dtype)
        _readinto(f, arr, source, f"tensor {name!r}")
        return arr
    f.seek(start)
    return read_one


def read(f, size: int, source, *, mmap: bool = False) -> tuple[dict, dict]:
    """Read and verify a safetensors file from the binary file object ``f`` (positioned at its
    start; ``size`` is the total file size).  Returns ``(arrays, metadata)`` with ``arrays`` a
    dict name -> NumPy array in header order (BF16 tensors come back as float32) and
    ``metadata`` the str -> str map.  The arrays are fresh and writable, or with ``mmap=True``
    copy-on-write views of the file (``f`` must then be a file on disk).  Raises
    :class:`CheckpointError` naming ``source`` for anything inconsistent."""
    raw_header = _read_header_bytes(f, size, source)
    metadata, header = _hdr.parse(raw_header, source)
    start = 8 + len(raw_header)
    del raw_header
    order = _check_tiling(header, size - start, source)
    digests = _check_header_digest(metadata, header, source)
    tensor = _tensor_bytes(f, start, size - start, mmap, source)
    arrays = {}
    for begin, end, name in order:
        e = header[name]
        arr = tensor(begin, end, _DTYPES[e.dtype], e.shape, name)
        if digests is not None:
            if hashlib.sha256(arr.reshape(-1).view(np.uint8)).hexdigest() != digests[name]:
                raise CheckpointError(source, f"checksum mismatch in the data of tensor {name!r}: "
                                              "the file was damaged after it was written")
        if e.dtype == "BF16":
            arr = bfloat16_to_float32(arr)
        elif not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr
    return {name: arrays[name] for name in header}, metadata
