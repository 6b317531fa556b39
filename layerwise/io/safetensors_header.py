"""Parse a safetensors header with explicit bounds, refusing a malformed one before building it.

A safetensors header is JSON of a fixed, shallow shape::

    {"__metadata__": {"<key>": "<value>", ...},
     "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}

``json.loads`` on an arbitrary header would build whatever the bytes describe before any check
could run: a list nested a thousand deep (``RecursionError``), or 99 MB of ``[]`` (2.4 GB of
Python lists, 14 s).  This parser instead walks the header one entry at a time with a regular
expression that accepts only that shape: the header is an object; each entry's value is an
object whose fields hold a string, a number, ``true``/``false``/``null`` or a flat list of at
most ``MAX_LIST`` of those.  Only an entry that matches is handed to ``json.loads`` (it is
small and flat), and it is checked at once (dtype, shape, offsets), so the first malformed
entry stops the parse with the memory of the entries before it.  Memory is bounded by the size
of the well-formed entries, each of which describes a tensor of the file.
"""
from __future__ import annotations

import json
import re
from collections import namedtuple

import numpy as np

from .errors import CheckpointError

MAX_DIMS = 64                  # NumPy's (and torch's) limit on dimensions
MAX_LIST = MAX_DIMS            # the longest list a header entry may hold (a shape)
MAX_FIELDS = 16                # fields of one tensor entry: dtype, shape, data_offsets, extras
MAX_ARRAY_BYTES = 2**63 - 1    # an array's extent must fit NumPy's intp

# little-endian NumPy dtypes of the safetensors dtype names (BF16 is read as raw uint16 words)
DTYPES = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "I32": np.dtype("<i4"), "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"), "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
    "F64": np.dtype("<f8"),
}

# One checked tensor entry, kept compact (a header may hold a great many of them).
Entry = namedtuple("Entry", "dtype shape begin end")

# The grammar, with possessive repeats so that the regular-expression engine never
# backtracks (linear time, no stack growth on long inputs).
_WS = rb"[ \t\n\r]*+"
_STR = rb'"[^"\\\x00-\x1f]*+(?:\\.[^"\\\x00-\x1f]*+)*+"'
_NUM = rb"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?"
_SCALAR = rb"(?:" + _STR + rb"|" + _NUM + rb"|true|false|null)"
_FLAT = (rb"\[" + _WS + rb"(?:" + _SCALAR + _WS + rb"(?:," + _WS + _SCALAR + _WS
         + rb"){0,%d}+)?\]" % (MAX_LIST - 1))
_FIELD = _STR + _WS + rb":" + _WS + rb"(?:" + _SCALAR + rb"|" + _FLAT + rb")"
_OBJECT = rb"\{" + _WS + rb"(?:" + _FIELD + _WS + rb"(?:," + _WS + _FIELD + _WS + rb")*+)?\}"
_ENTRY = re.compile(_WS + rb"(" + _STR + rb")" + _WS + rb":" + _WS + rb"(" + _OBJECT + rb")"
                    + _WS + rb"([,}])")
_KEY = re.compile(_WS + rb"(" + _STR + rb")" + _WS + rb":")
_OPEN = re.compile(_WS + rb"\{" + _WS)
_CLOSE = re.compile(_WS + rb"\}")
_END = re.compile(_WS + rb"\Z")
_LIST_ITEMS = re.compile(rb"\[([^\[\]{}]*)")    # the text after a '[' up to the next bracket
_LAYOUT = ('{"<name>": {"dtype": ..., "shape": [...], "data_offsets": [...]}, ...}: '
           "entries are objects of strings, numbers and flat lists")


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


_ENTRY_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


class _HeaderParser:
    """Walks the raw header bytes; every byte is either ASCII punctuation and whitespace the
    grammar matched, or inside a span that is decoded (and so checked as UTF-8)."""

    def __init__(self, raw: bytes, source):
        self.raw, self.source = raw, source

    def fail(self, problem):
        raise CheckpointError(self.source, problem)

    def fail_layout(self, pos):
        """Say why the entry at ``pos`` does not match the grammar (the failure path only)."""
        key = _KEY.match(self.raw, pos)
        where = f"at byte {pos}"
        if key is not None:
            name = self.decode(key.group(1))
            where = f"in the entry {name!r}"
            window = self.raw[key.end():key.end() + 65536]
            value = window.lstrip(b" \t\n\r")[:20].decode("utf-8", "replace")
            if name == "__metadata__" and value[:1] != "{":
                self.fail("__metadata__ must be an object mapping strings to strings")
            if value[:1] != "{":
                self.fail(f"tensor {name!r}: header entry must be an object with 'dtype', "
                          f"'shape' and 'data_offsets', got {value!r}...")
            if any(items.count(b",") >= MAX_LIST for items in _LIST_ITEMS.findall(window)):
                self.fail(f"tensor {name!r}: a list in its header entry has more than {MAX_LIST} "
                          f"items (a shape has at most {MAX_DIMS} dimensions)")
        snippet = self.raw[pos:pos + 40]
        self.fail(f"header is not valid UTF-8 JSON in the safetensors layout ({_LAYOUT}): "
                  f"{where}, found {snippet!r}")

    def decode(self, span: bytes):
        try:
            if span[:1] == b'"' and b"\\" not in span:     # a string without escapes
                return span[1:-1].decode("utf-8")
            return _ENTRY_DECODER.decode(span.decode("utf-8"))
        except ValueError as e:          # UnicodeDecodeError and JSONDecodeError alike
            self.fail(f"header is not valid UTF-8 JSON ({e})")

    def entries(self):
        """Yield ``(name, value)`` for each entry, each decoded only after it matched."""
        raw = self.raw
        m = _OPEN.match(raw)
        if m is None:
            self.fail("header is not a JSON object")
        pos, last = m.end(), ","
        close = _CLOSE.match(raw, pos)
        if close is not None:
            pos, last = close.end(), "}"
        while last == ",":
            m = _ENTRY.match(raw, pos)
            if m is None:
                self.fail_layout(pos)
            yield self.decode(m.group(1)), self.decode(m.group(2))
            pos, last = m.end(), m.group(3).decode()
        if _END.match(raw, pos) is None:
            self.fail(f"unexpected text after the header object: {raw[pos:pos + 20]!r}")


def _check_metadata(metadata, source):
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in metadata.items()):
        raise CheckpointError(source, "__metadata__ must be an object mapping strings to strings")


def _check_shape(name, shape, itemsize, source):
    if not isinstance(shape, list) or not all(_is_index(s) for s in shape):
        raise CheckpointError(source, f"tensor {name!r}: shape {shape!r} is not a list of "
                                      "non-negative integers")
    extent = itemsize
    for s in shape:
        extent *= max(s, 1)
    if extent > MAX_ARRAY_BYTES:
        raise CheckpointError(source, f"tensor {name!r}: shape {shape} is too large for an "
                                      f"array (it would span {extent} bytes)")


def check_entry(name, e, source) -> Entry:
    """Check one tensor entry (a dict as the JSON gave it); return it as an :class:`Entry`."""
    if (not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= e.keys()
            or len(e) > MAX_FIELDS):
        raise CheckpointError(source, f"tensor {name!r}: header entry must be an object with "
                                      "'dtype', 'shape' and 'data_offsets'")
    dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
    if not isinstance(dt, str) or dt not in DTYPES:
        raise CheckpointError(source, f"tensor {name!r}: unsupported dtype {dt!r} (supported: "
                                      + ", ".join(DTYPES) + ")")
    _check_shape(name, shape, DTYPES[dt].itemsize, source)
    if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_index(o) for o in offs)
            or offs[0] > offs[1]):
        raise CheckpointError(source, f"tensor {name!r}: data_offsets {offs!r} must be two "
                                      "non-negative integers [begin, end] with begin <= end")
    count = 1
    for s in shape:
        count *= s
    nbytes = count * DTYPES[dt].itemsize
    if offs[1] - offs[0] != nbytes:
        raise CheckpointError(source, f"tensor {name!r}: {dt} of shape {tuple(shape)} needs "
                                      f"{nbytes} bytes but data_offsets {offs} span "
                                      f"{offs[1] - offs[0]}")
    return Entry(dt, tuple(shape), offs[0], offs[1])


def parse(raw: bytes, source) -> tuple[dict, dict]:
    """``(metadata, entries)`` of a header given as its raw bytes; ``entries`` maps each
    tensor name to its checked :class:`Entry`, in header order."""
    metadata, entries = None, {}
    for name, value in _HeaderParser(raw, source).entries():
        if name in entries or (name == "__metadata__" and metadata is not None):
            raise CheckpointError(source, f"header is not valid UTF-8 JSON (duplicate key {name!r})")
        if name == "__metadata__":
            _check_metadata(value, source)
            metadata = value
        else:
            entries[name] = check_entry(name, value, source)
    return metadata or {}, entries
