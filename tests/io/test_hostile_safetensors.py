"""Crafted safetensors files: a malformed header is refused with the library's CheckpointError
naming the file, before anything is built from it and in memory bounded by its size; crafted
structure metadata that no save writes is refused with a sentence.

Issue 14, items 4 (header validation with explicit bounds) and 5 (the structure's nodes)."""
import json
import os

import numpy as np
import pytest

import layerwise as lw
from bounded import run_bounded
from layerwise.io import CheckpointError, load
from layerwise.io import safetensors_format as sf


def raw_file(header: bytes, payload=b""):
    return len(header).to_bytes(8, "little") + header + payload


def write(path, data):
    path.write_bytes(data)
    return path


def entry(dtype="F32", shape=(1,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


# ============================================================== item 4: headers
MALFORMED = {
    "nested 1000 deep": (b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}",
                         "tensor 'a': header entry must be an object"),
    "objects nested deep": (b'{"a":' + b'{"b":' * 1000 + b"1" + b"}" * 1001,
                            "not valid UTF-8 JSON in the safetensors layout"),
    "dtype is a list": (json.dumps({"a": entry(dtype=["F32"])}).encode(),
                        r"tensor 'a': unsupported dtype \['F32'\]"),
    "dtype is an object": (b'{"a": {"dtype": {"x": 1}, "shape": [1], "data_offsets": [0, 4]}}',
                           "not valid UTF-8 JSON in the safetensors layout"),
    "65 dimensions": (json.dumps({"a": entry(shape=[1] * 65)}).encode(),
                      "a list in its header entry has more than 64 items"),
    "a dimension of 2**63": (json.dumps({"a": entry(shape=[0, 2**63], offsets=[0, 0])}).encode(),
                             r"shape \[0, 9223372036854775808\] is too large for an array"),
    "an extent beyond intp": (json.dumps({"a": entry(shape=[0, 2**40, 2**40], offsets=[0, 0])}).encode(),
                              "is too large for an array"),
    "a float dimension": (json.dumps({"a": entry(shape=[1.5])}).encode(),
                          "is not a list of non-negative integers"),
    "a huge integer": (b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}',
                       "not valid UTF-8 JSON"),
    "trailing comma": (b'{"a": ' + json.dumps(entry()).encode() + b",}",
                       "not valid UTF-8 JSON in the safetensors layout"),
    "text after the object": (b'{"a": ' + json.dumps(entry()).encode() + b"} [1]",
                              "unexpected text after the header object"),
    "metadata is a list": (b'{"__metadata__": ["a"]}', "__metadata__ must be an object mapping"),
    "bad escape": (b'{"a\\x": ' + json.dumps(entry()).encode() + b"}", "not valid UTF-8 JSON"),
    "control character": (b'{"a\x01": ' + json.dumps(entry()).encode() + b"}",
                          "not valid UTF-8 JSON in the safetensors layout"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_headers_raise_the_checkpoint_error_naming_the_file(tmp_path, case):
    header, message = MALFORMED[case]
    path = write(tmp_path / "bad.safetensors", raw_file(header, bytes(4)))
    with pytest.raises(CheckpointError, match=f"bad.safetensors: .*{message}"):
        load(path)


def test_a_30_mb_header_of_empty_lists_is_refused_at_once_in_bounded_memory(tmp_path):
    header = b'{"a":[' + b"[]," * (10 * 2**20) + b"[]]}"
    path = write(tmp_path / "lists.safetensors", raw_file(header))
    out = run_bounded(f"load({str(path)!r})", 200)
    assert out["error"] == "CheckpointError" and out["message"].startswith(str(path)), out
    assert "tensor 'a': header entry must be an object" in out["message"]
    # the header's own bytes and nothing built from them (before: 24 bytes per byte, 14 s
    # for 99 MB)
    assert out["peak_mb"] < 1.5 * len(header) / 2**20, out


def test_well_formed_headers_cost_a_bounded_multiple_of_their_size(tmp_path):
    """The worst legitimate shapes: many zero-size tensors, many metadata entries."""
    n = 50_000
    zeros = {str(i): entry("U8", [0], [0, 0]) for i in range(n)}
    meta = {"__metadata__": {str(i): "" for i in range(4 * n)}}
    for name, header in (("zeros", zeros), ("metadata", meta)):
        text = json.dumps(header, separators=(",", ":")).encode()
        path = write(tmp_path / f"{name}.safetensors", raw_file(text))
        out = run_bounded(f"result = len(load({str(path)!r}))", 400)
        assert out["error"] is None, out
        assert out["peak_mb"] < 30 * len(text) / 2**20, (name, out, len(text))


def test_headers_from_other_writers_still_load(tmp_path):
    import safetensors.numpy
    tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "é": np.zeros((0, 2), np.int8),
               "s": np.array(7, np.int64)}
    safetensors.numpy.save_file(tensors, tmp_path / "ref.safetensors", metadata={"k": "v\n\"q\""})
    back = load(tmp_path / "ref.safetensors")
    assert list(back) == ["a", "s", "é"] or set(back) == set(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k].array, v)
    # whitespace and field order of a hand-written header are fine, extra fields ignored
    header = b'{ "w" : { "shape" : [ 2 ] , "extra": [1, "x", null], "data_offsets" : [0, 8], "dtype" : "F32" } }   '
    path = write(tmp_path / "hand.safetensors", raw_file(header, np.ones(2, "<f4").tobytes()))
    np.testing.assert_array_equal(load(path)["w"].array, [1.0, 1.0])


# ============================================================== item 5: structure nodes
def with_structure(path, structure, arrays=None):
    with open(path, "wb") as fh:
        sf.write(fh, arrays or {"w": np.ones(2, np.float32)}, {"layerwise": structure})
    return path


CRAFTED = {
    "a NumPy scalar holding a list": ('{"$np": "<f4", "v": [1, 2, 3]}', r"invalid NumPy scalar"),
    "a NumPy scalar of an object dtype": ('{"$np": "|O", "v": 1}', r"invalid NumPy scalar"),
    "a node with two tags": ('{"$tu": [1], "$d": []}', r"a node with the keys \['\$tu', '\$d'\]"),
    "a tensor node with an extra key": ('{"$t": "w", "o": 0, "k": "t", "x": 1}',
                                        r"a '\$t' node holds exactly"),
    "a tensor node without its kind": ('{"$t": "w", "o": 0}', r"a '\$t' node holds exactly"),
    "one object id for two tensors": ('[{"$t": "w", "o": 0, "k": "t"}, {"$t": "v", "o": 0, "k": "t"}]',
                                      "object 0 is both tensor 'w' \\(t\\) and 'v' \\(t\\)"),
    "one object id as two kinds": ('[{"$t": "w", "o": 0, "k": "t"}, {"$t": "w", "o": 0, "k": "p"}]',
                                   "object 0 is both tensor 'w' \\(t\\) and 'w' \\(p\\)"),
    "an untagged object": ('{"a": 1}', "unknown tag 'a'"),
    "an empty object": ("{}", "an empty object where a tagged node belongs"),
    "a Size of floats": ('{"$sz": [1.5]}', "a Size of"),
    "requires_grad not a bool": ('{"$t": "w", "o": 0, "k": "t", "rg": 1}', "invalid tensor node"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_structure_nodes_are_refused(tmp_path, case):
    root, message = CRAFTED[case]
    arrays = {"w": np.ones(2, np.float32), "v": np.zeros(2, np.float32)}
    path = with_structure(tmp_path / "s.safetensors", '{"version":1,"root":' + root + "}", arrays)
    with pytest.raises(CheckpointError, match=r"s\.safetensors: malformed layerwise structure in "
                                              f"the metadata: .*{message}"):
        load(path)


def test_deeply_nested_structures_are_refused_with_a_sentence(tmp_path):
    path = with_structure(tmp_path / "deep.safetensors",
                          '{"version":1,"root":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load(path)
    path = with_structure(tmp_path / "junk.safetensors", '{"version":1,"root":[1,}')
    with pytest.raises(CheckpointError, match="the layerwise structure metadata is not JSON"):
        load(path)
    path = with_structure(tmp_path / "noroot.safetensors", '{"root": 1, "version": 1}')
    with pytest.raises(CheckpointError, match='is not \\{"version": N, "root": ...\\}'):
        load(path)


def test_the_node_grammar_still_round_trips_everything_save_writes(tmp_path):
    obj = {"np": [np.float32(1.5), np.int64(-3), np.bool_(True), np.float16(np.nan)],
           "t": lw.ones(2), "same": None, "size": lw.Size([2, 3]), "b": b"\x00", 1: (None, -0.0)}
    obj["same"] = obj["t"]
    lw.save(obj, tmp_path / "ok.safetensors")
    back = load(tmp_path / "ok.safetensors")
    assert back["same"] is back["t"] and type(back["np"][0]) is np.float32
    assert back["size"] == lw.Size([2, 3]) and back[1] == (None, -0.0)
    assert os.path.getsize(tmp_path / "ok.safetensors") > 0
