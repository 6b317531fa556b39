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

from .errors import CheckpointError

DIGEST_KEY = "layerwise.sha256"
MAX_HEADER_BYTES = 100 * 1024 * 1024     # the reference implementation's limit
WRITE_CHUNK_BYTES = 16 * 1024 * 1024

# safetensors dtype name -> little-endian NumPy dtype (BF16 is read as raw uint16 words)
_DTYPES = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "I32": np.dtype("<i4"), "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"), "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
    "F64": np.dtype("<f8"),
}
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
            "tensors": {n: [e["dtype"], e["shape"], e["data_offsets"]] for n, e in entries.items()}}
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
        entries[name] = {"dtype": dt, "shape": [int(s) for s in shape],
                         "data_offsets": [offset, offset + raw.size]}
        offset += raw.size
    if checksum:
        digests = {"header": _canonical_header_digest(metadata, entries),
                   "tensors": {name: hashlib.sha256(raw).hexdigest() for name, _, _, raw in items}}
        metadata[DIGEST_KEY] = json.dumps(digests, separators=(",", ":"))
        # the header digest excludes DIGEST_KEY itself, so computing it first is consistent
    header = {"__metadata__": metadata} if metadata else {}
    header.update(entries)
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


def _check_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def read(f, size: int, source) -> tuple[dict, dict]:
    """Read and verify a safetensors file from the binary file object ``f`` (positioned at its
    start; ``size`` is the total file size).  Returns ``(arrays, metadata)`` with ``arrays`` a
    dict name -> fresh, writable NumPy array in header order (BF16 tensors come back as
    float32) and ``metadata`` the str -> str map.  Raises :class:`CheckpointError` naming
    ``source`` for anything inconsistent."""
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
    raw_header = f.read(n)
    if len(raw_header) != n:
        raise CheckpointError(source, "file ended inside the header (truncated?)")
    try:
        header = json.loads(raw_header.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(source, f"header is not valid UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(source, f"header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in metadata.items()):
        raise CheckpointError(source, "__metadata__ must be an object mapping strings to strings")

    data_len = size - 8 - n
    entries = []
    for name, e in header.items():
        if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= e.keys():
            raise CheckpointError(source, f"tensor {name!r}: header entry must be an object with "
                                          "'dtype', 'shape' and 'data_offsets'")
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in _DTYPES:
            raise CheckpointError(source, f"tensor {name!r}: unsupported dtype {dt!r} (supported: "
                                          + ", ".join(_DTYPES) + ")")
        if not isinstance(shape, list) or not all(_check_int(s) for s in shape):
            raise CheckpointError(source, f"tensor {name!r}: shape {shape!r} is not a list of "
                                          "non-negative integers")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(_check_int(o) for o in offs)
                or offs[0] > offs[1]):
            raise CheckpointError(source, f"tensor {name!r}: data_offsets {offs!r} must be two "
                                          "non-negative integers [begin, end] with begin <= end")
        count = 1
        for s in shape:
            count *= s
        nbytes = count * _DTYPES[dt].itemsize
        if offs[1] - offs[0] != nbytes:
            raise CheckpointError(source, f"tensor {name!r}: {dt} of shape {tuple(shape)} needs "
                                          f"{nbytes} bytes but data_offsets {offs} span "
                                          f"{offs[1] - offs[0]}")
        entries.append((offs[0], offs[1], name))
    entries.sort()
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

    digests = None
    if DIGEST_KEY in metadata or "layerwise" in metadata:
        # Files written by layerwise always carry digests; a structure without them means the
        # digest entry itself was damaged.
        try:
            digests = json.loads(metadata[DIGEST_KEY])
            ok = (isinstance(digests, dict) and isinstance(digests.get("header"), str)
                  and isinstance(digests.get("tensors"), dict))
        except (KeyError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(source, f"integrity digest entry {DIGEST_KEY!r} is missing or "
                                          "malformed (header damaged?)")
        header_digest = _canonical_header_digest(metadata, header)
        if header_digest != digests["header"]:
            raise CheckpointError(source, "header checksum mismatch: the header was altered or "
                                          "damaged after it was written")
        if set(digests["tensors"]) != set(header):
            raise CheckpointError(source, "the integrity digests do not list the same tensors as "
                                          "the header (header damaged?)")

    arrays = {}
    f.seek(8 + n)
    for begin, end, name in entries:
        e = header[name]
        arr = np.empty(e["shape"], dtype=_DTYPES[e["dtype"]])
        _readinto(f, arr, source, f"tensor {name!r}")
        if digests is not None:
            if hashlib.sha256(arr.reshape(-1).view(np.uint8)).hexdigest() != digests["tensors"][name]:
                raise CheckpointError(source, f"checksum mismatch in the data of tensor {name!r}: "
                                              "the file was damaged after it was written")
        if e["dtype"] == "BF16":
            arr = bfloat16_to_float32(arr)
        elif not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr
    return {name: arrays[name] for name in header}, metadata
