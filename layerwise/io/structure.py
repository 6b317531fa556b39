"""The non-tensor structure of a checkpoint as typed JSON (``__metadata__["layerwise"]``).

``encode(obj)`` returns the tensors of ``obj`` (name -> host array) and the JSON text of the
rest: nesting, tuples vs lists, int dict keys, NaN, bools, which tensors are Parameters, which
share memory.  ``decode(text, arrays, source)`` builds the object back.  The node grammar
(docs/checkpoints.md)::

    JSON null / true / false / int / float / string      themselves
    JSON list                                            a list
    {"$d": [[key, value], ...]}, {"$od": [...]}          dict, OrderedDict (keys are nodes too)
    {"$tu": [...]}, {"$sz": [...]}                       tuple, Size
    {"$f": "nan" | "inf" | "-inf"}                       non-finite float
    {"$b": "<base64>"}, {"$dt": "float16"}               bytes, dtype
    {"$np": "<f4", "v": 1.5}                             NumPy scalar
    {"$t": "<tensor name>", "o": <object id>, "k": "t" | "p" | "a", "rg": true}

Decoding happens as the JSON is parsed (each object is turned into its value by the parser's
``object_pairs_hook``), so no intermediate tree is built, and every object must be exactly one
node of this grammar: an unknown tag, a second tag, a missing or extra key is refused.
"""
from __future__ import annotations

import base64
import collections
import json
import math
import re

import numpy as np

from .. import dtypes as _dtypes
from . import _tensors
from . import safetensors_format as _sf
from .errors import CheckpointError

FORMAT_VERSION = 1
_PREFIX = re.compile(r'\{\s*"version"\s*:\s*(-?[0-9]{1,9})\s*,\s*"root"\s*:')
_SUFFIX = re.compile(r"\}\s*\Z")


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

    def tensor(self, x, path):
        arr = _tensors.to_host(x) if _tensors.is_tensor(x) else x
        _sf.dtype_name(arr.dtype)                     # refuse unsupported dtypes early
        node = {"$t": self._name_for(arr, path)}
        if id(x) not in self.object_ids:
            self.object_ids[id(x)] = len(self.object_ids)
            self.keepalive.append(x)
        node["o"] = self.object_ids[id(x)]
        if isinstance(x, np.ndarray):
            node["k"] = "a"
        else:
            node["k"] = "p" if _tensors.is_parameter(x) else "t"
            if x.requires_grad:
                node["rg"] = True
        return node

    def container(self, x, path):
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
            if type(x) is list:
                return items
            return {"$sz" if type(x) is _tensors.Size else "$tu": items}
        finally:
            self.active.discard(id(x))

    def encode(self, x, path):
        t = type(x)
        if x is None or t in (bool, str, int):
            return x
        if t is float:
            if math.isfinite(x):
                return x
            return {"$f": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        if _tensors.is_tensor(x) or isinstance(x, np.ndarray):
            return self.tensor(x, path)
        if isinstance(x, np.generic):
            _sf.dtype_name(x.dtype)
            return {"$np": x.dtype.str, "v": self.encode(x.item(), path)}
        if t is bytes:
            return {"$b": base64.b64encode(x).decode("ascii")}
        if isinstance(x, _dtypes.dtype):
            return {"$dt": x.name}
        if t in (list, tuple, _tensors.Size) or isinstance(x, dict):
            return self.container(x, path)
        raise TypeError(f"{self._where(path)}: cannot save an object of type {t.__module__}."
                        f"{t.__qualname__}; checkpoints hold dicts, lists, tuples, str, int, "
                        "float, bool, None, bytes, dtypes, Tensors and NumPy arrays")


def is_flat_state_dict(obj) -> bool:
    return (isinstance(obj, dict) and len(obj) > 0
            and all(isinstance(k, str) and k != "__metadata__" for k in obj)
            and all(_tensors.is_tensor(v) or isinstance(v, np.ndarray) for v in obj.values()))


def encode(obj):
    """``(arrays, structure_text)`` for ``obj``; TypeError/ValueError for what cannot be saved."""
    enc = _Encoder(flat_names=is_flat_state_dict(obj))
    root = enc.encode(obj, [])
    text = json.dumps({"version": FORMAT_VERSION, "root": root}, allow_nan=False,
                      separators=(",", ":"), ensure_ascii=False)
    return enc.arrays, text


# ====================================================================== decoding
def host_to_tensor(arr, name, source, parameter=False, requires_grad=False):
    """A Tensor of a host array read from a file; NumPy dtypes layerwise lacks are widened
    exactly (uint16 -> int32, uint32 -> int64, uint64 -> int64 where every value fits)."""
    if arr.dtype == np.uint16:
        arr = arr.astype(np.int32)
    elif arr.dtype == np.uint32:
        arr = arr.astype(np.int64)
    elif arr.dtype == np.uint64:
        if arr.size and arr.max() > np.iinfo(np.int64).max:
            raise CheckpointError(source, f"tensor {name!r} is uint64 with values beyond int64; "
                                          "layerwise has no uint64")
        arr = arr.astype(np.int64)
    return _tensors.to_tensor(arr, parameter=parameter, requires_grad=requires_grad)


# the keys each tagged node holds, besides its tag ("rg" of a tensor node is optional)
_NODE_KEYS = {"$d": (), "$od": (), "$tu": (), "$sz": (), "$f": (), "$b": (), "$dt": (),
              "$np": ("v",), "$t": ("o", "k")}


class _Decoder:
    def __init__(self, arrays, source):
        self.arrays, self.source = arrays, source
        self.objects = {}         # object id -> (tensor name, kind, the object)

    def bad(self, what):
        raise CheckpointError(self.source, f"malformed layerwise structure in the metadata: {what}")

    def node(self, pairs):
        """The value of one JSON object of the structure (the parser's object_pairs_hook)."""
        if not pairs:
            self.bad("an empty object where a tagged node belongs")
        tag = pairs[0][0]
        if tag not in _NODE_KEYS:
            self.bad(f"unknown tag {tag!r}")
        fields = dict(pairs)
        expected = {tag, *_NODE_KEYS[tag]} | ({"rg"} & fields.keys() if tag == "$t" else set())
        if len(fields) != len(pairs) or fields.keys() != expected:
            self.bad(f"a node with the keys {[k for k, _ in pairs]}; a {tag!r} node holds "
                     f"exactly {sorted(expected)}")
        return getattr(self, "_" + tag[1:])(fields[tag], fields)

    def _items(self, val, what):
        if not isinstance(val, list):
            self.bad(f"{what} items are not a list")
        return val

    def _d(self, val, fields, kind=dict):
        out = kind()
        for item in self._items(val, "dict"):
            if not isinstance(item, list) or len(item) != 2:
                self.bad("dict item is not a [key, value] pair")
            try:
                out[item[0]] = item[1]
            except TypeError:
                self.bad(f"unhashable dict key {item[0]!r}")
        return out

    def _od(self, val, fields):
        return self._d(val, fields, collections.OrderedDict)

    def _tu(self, val, fields):
        return tuple(self._items(val, "tuple"))

    def _sz(self, val, fields):
        items = self._items(val, "Size")
        if not all(type(v) is int and v >= 0 for v in items):
            self.bad(f"a Size of {items!r}, not of non-negative ints")
        return _tensors.Size(items)

    def _f(self, val, fields):
        if val not in ("nan", "inf", "-inf"):
            self.bad(f"unknown special float {val!r}")
        return float(val)

    def _b(self, val, fields):
        try:
            return base64.b64decode(val.encode("ascii"), validate=True)
        except (ValueError, AttributeError):
            self.bad("invalid base64 bytes")

    def _dt(self, val, fields):
        try:
            return _dtypes.as_dtype(val)
        except (TypeError, ValueError):
            self.bad(f"unknown dtype {val!r}")

    def _np(self, val, fields):
        v = fields["v"]
        try:
            if type(v) not in (bool, int, float) or np.dtype(val).kind not in "biuf":
                raise TypeError(val)
            return np.dtype(val).type(v)
        except (TypeError, ValueError, OverflowError):
            self.bad(f"invalid NumPy scalar {fields!r}: a dtype of bool, int, uint or float "
                     "and one scalar value")

    def _t(self, name, fields):
        oid, kind, rg = fields["o"], fields["k"], fields.get("rg", False)
        if type(oid) is not int or kind not in ("t", "p", "a") or type(rg) is not bool:
            self.bad(f"invalid tensor node {fields!r}")
        if not isinstance(name, str) or name not in self.arrays:
            self.bad(f"reference to a tensor {name!r} that the file does not hold")
        if oid in self.objects:
            seen_name, seen_kind, obj = self.objects[oid]
            if (seen_name, seen_kind) != (name, kind):
                self.bad(f"object {oid} is both tensor {seen_name!r} ({seen_kind}) and "
                         f"{name!r} ({kind})")
            return obj
        arr = self.arrays[name]
        if kind == "a":
            out = arr
        else:
            out = host_to_tensor(arr, name, self.source, parameter=kind == "p", requires_grad=rg)
            self.arrays[name] = _tensors.to_host(out)   # later references share the memory
        self.objects[oid] = (name, kind, out)
        return out


def decode(text: str, arrays: dict, source):
    """The object described by the structure ``text``, its tensors taken from ``arrays``."""
    head = _PREFIX.match(text) if isinstance(text, str) else None
    tail = _SUFFIX.search(text) if head is not None else None
    if head is None or tail is None:
        raise CheckpointError(source, 'the layerwise structure metadata is not '
                                      '{"version": N, "root": ...}')
    version = int(head.group(1))
    if version != FORMAT_VERSION:
        raise CheckpointError(source, f"written by a newer layerwise (structure version "
                                      f"{version}); this one reads version {FORMAT_VERSION}")
    decoder = _Decoder(arrays, source)
    try:
        return json.loads(text[head.end():tail.start()], object_pairs_hook=decoder.node)
    except RecursionError:
        raise CheckpointError(source, "the structure metadata is nested too deeply") from None
    except ValueError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(source, f"the layerwise structure metadata is not JSON ({e})") from None
