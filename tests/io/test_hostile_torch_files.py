"""Crafted torch.save files of a few hundred bytes: none may cost more memory than its bytes can
hold (each load runs in a child process under an address-space limit, and its peak is
measured), and each structure torch itself would never write is refused with a sentence.

Issue 14, items 1 (stride-0 views), 2 (declared sizes: memo indices, counted bytes, zip member
sizes, bytearray(n)) and 5 (BUILD on an OrderedDict, one storage used as two types)."""
import collections
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import layerwise as lw
from bounded import (op, patch_member_sizes, pdict, pglobal, pint, program, pstr, ptuple,
                     rebuild_tensor, run_bounded, storage, torch_zip)
from layerwise.io import CheckpointError, load

BUDGET_MB = 200          # address space a child may add; every bomb below asks for GiBs


def one_float_expanded(path, shape):
    """A torch file of one float storage viewed with stride 0 as ``shape``."""
    pkl = program(pdict((pstr("w"), rebuild_tensor(storage("0", 1), 0, shape, (0,) * len(shape)))))
    return torch_zip(path, pkl, [("0", struct.pack("<f", 1.5))])


# ============================================================== item 1: views stay views
def test_stride_zero_tensor_of_4_gib_loads_as_a_read_only_view_in_bounded_memory(tmp_path):
    path = one_float_expanded(tmp_path / "stride0.pt", (2**15, 2**15))
    assert os.path.getsize(path) < 700
    out = run_bounded(f"""
w = load({str(path)!r})["w"]
a = w.array
try:
    w[0, 0] = 2.0
    inplace = "accepted"
except RuntimeError as e:
    inplace = str(e)
result = (tuple(w.shape), a.strides, a.flags.writeable, float(a[12345, 23456]), inplace)
""", BUDGET_MB)
    assert out["error"] is None, out
    shape, strides, writeable, value, inplace = eval(out["result"])
    assert shape == (2**15, 2**15) and strides == (0, 0) and not writeable and value == 1.5
    assert "not writable" in inplace
    assert out["peak_mb"] < 20, out          # before: 4096 MB (the expanded view was copied)
    # torch gives the same: a stride-0 view of the one stored float
    t = torch.load(path)["w"]
    assert t.stride() == (0, 0) and t.shape == (2**15, 2**15) and t[7, 9].item() == 1.5


def test_strided_views_share_the_storage_as_in_torch(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    torch.save({"w": base, "t": base.T, "col": base[:, 1], "diag": base.as_strided((3, 3), (1, 1))},
               tmp_path / "views.pt")
    back = load(tmp_path / "views.pt")
    for name in ("t", "col", "diag"):
        assert np.shares_memory(back[name].array, back["w"].array), name
    np.testing.assert_array_equal(back["t"].array, base.T.numpy())
    np.testing.assert_array_equal(back["diag"].array, base.as_strided((3, 3), (1, 1)).numpy())
    assert back["t"].array.flags.writeable and back["col"].array.flags.writeable
    back["t"][1, 0] = -1.0                      # writes through a non-overlapping view reach w
    assert back["w"][0, 1].item() == -1.0
    assert not back["diag"].array.flags.writeable     # its elements overlap: read-only


def test_shapes_no_array_can_index_are_refused(tmp_path):
    path = one_float_expanded(tmp_path / "huge.pt", (2**40, 2**40))
    with pytest.raises(CheckpointError, match=r"huge\.pt: a tensor of size .* has more elements "
                                              "than an array can index"):
        load(path)
    path = one_float_expanded(tmp_path / "dims.pt", (1,) * 65)
    with pytest.raises(CheckpointError, match="has 65 dimensions; at most 64 are supported"):
        load(path)


# ============================================================== item 2: declared sizes
def bounded_refusal(path, message):
    out = run_bounded(f"load({str(path)!r})", BUDGET_MB)
    assert out["error"] == "CheckpointError", out
    assert out["message"].startswith(str(path)) and message in out["message"], out
    return out["peak_mb"]


def test_a_huge_memo_index_is_refused_before_the_unpickler_allocates(tmp_path):
    pkl = program(pint(1) + op("LONG_BINPUT", struct.pack("<I", 2**28)))
    path = torch_zip(tmp_path / "memo.pt", pkl)
    assert os.path.getsize(path) < 400
    peak = bounded_refusal(path, "names memo slot 268435456 (opcode LONG_BINPUT at byte 7), "
                                 "more than a 13-byte pickle can fill")
    assert peak < 20                       # before: 4096 MB (the C unpickler's memo table)
    # protocol 0's decimal PUT, and a GET of a slot no pickle this small can have filled
    zip_pkl = program(pint(1) + b"p268435456\n")
    assert "memo slot 268435456" in str(pytest.raises(CheckpointError, load,
                                                      torch_zip(tmp_path / "put.pt", zip_pkl)).value)
    get = program(op("LONG_BINGET", struct.pack("<I", 2**31)))
    with pytest.raises(CheckpointError, match="memo slot 2147483648"):
        load(torch_zip(tmp_path / "get.pt", get))


def test_counted_bytes_longer_than_the_pickle_are_refused(tmp_path):
    pkl = program(op("BINBYTES8", struct.pack("<Q", 2**32)) + b"abc")
    path = torch_zip(tmp_path / "bytes8.pt", pkl)
    peak = bounded_refusal(path, "the pickle is damaged")
    assert peak < 20
    frame = op("PROTO", b"\x04") + op("FRAME", struct.pack("<Q", 2**40)) + pint(1) + op("STOP")
    with pytest.raises(CheckpointError, match="declares a 1099511627776-byte frame"):
        load(torch_zip(tmp_path / "frame.pt", frame))


def test_bytearray_of_a_size_is_refused(tmp_path):
    pkl = program(pglobal("builtins", "bytearray") + ptuple(pint(2**32)) + op("REDUCE"))
    path = torch_zip(tmp_path / "bytearray.pt", pkl)
    peak = bounded_refusal(path, "the pickle calls bytearray(int); only bytearray(<bytes>) is allowed")
    assert peak < 20
    torch.save({"b": bytearray(b"\x00\xff")}, tmp_path / "ok.pt")      # torch's own form loads
    assert load(tmp_path / "ok.pt") == {"b": b"\x00\xff"}


def test_zip_members_claiming_more_than_the_file_holds_are_refused(tmp_path):
    numel = 2**29                                 # 2 GiB of float32, in a file of 600 bytes
    pkl = program(pdict((pstr("w"), rebuild_tensor(storage("0", numel), 0, (numel,), (1,)))))
    path = torch_zip(tmp_path / "liar.pt", pkl, [("0", b"\0" * 16)])
    patch_member_sizes(path, "archive/data/0", compress_size=4 * numel, file_size=4 * numel)
    peak = bounded_refusal(path, "archive member 'archive/data/0' claims 2147483648 bytes but the "
                                 "file ends")
    assert peak < 20
    # a deflated member may expand, but never beyond what deflate can do (1032 times)
    with zipfile.ZipFile(tmp_path / "deflated.pt", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/data/0", b"\0" * 4096)
    patch_member_sizes(tmp_path / "deflated.pt", "archive/data/0", file_size=4 * numel)
    peak = bounded_refusal(tmp_path / "deflated.pt", "more than its compression can")
    assert peak < 20


def test_a_deflated_archive_of_honest_sizes_still_loads(tmp_path):
    torch.save({"w": torch.arange(6.0)}, tmp_path / "stored.pt")
    with zipfile.ZipFile(tmp_path / "stored.pt") as zin, \
            zipfile.ZipFile(tmp_path / "deflated.pt", "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    np.testing.assert_array_equal(load(tmp_path / "deflated.pt")["w"].array, np.arange(6.0))


# ============================================================== item 5: crafted structures
def test_build_of_an_attribute_on_an_ordered_dict_is_refused(tmp_path):
    # OrderedDict() {'w': tensor}; BUILD {'items': OrderedDict}: items() would then return an
    # empty OrderedDict and the tensors would silently vanish
    od = pglobal("collections", "OrderedDict") + op("EMPTY_TUPLE") + op("REDUCE")
    tensor = rebuild_tensor(storage("0", 2), 0, (2,), (1,))
    state = pdict((pstr("items"), pglobal("collections", "OrderedDict")))
    pkl = program(od + op("MARK") + pstr("w") + tensor + op("SETITEMS") + state + op("BUILD"))
    path = torch_zip(tmp_path / "items.pt", pkl, [("0", np.ones(2, "<f4").tobytes())])
    with pytest.raises(CheckpointError, match=r"items\.pt: the pickle sets the attribute 'items' "
                                              r"on a OrderedDict; only torch's state_dict "
                                              r"'_metadata' may be set"):
        load(path)


def test_state_dict_metadata_set_by_build_still_loads(tmp_path):
    sd = torch.nn.Linear(2, 3).state_dict()
    torch.save(sd, tmp_path / "sd.pt")
    back = load(tmp_path / "sd.pt")
    assert type(back) is collections.OrderedDict and list(back) == ["weight", "bias"]
    assert dict(back._metadata) == {k: dict(v) for k, v in sd._metadata.items()}


def test_one_storage_used_as_two_types_is_refused(tmp_path):
    as_float = rebuild_tensor(storage("0", 2, "FloatStorage"), 0, (2,), (1,))
    as_double = rebuild_tensor(storage("0", 1, "DoubleStorage"), 0, (1,), (1,))
    pkl = program(pdict((pstr("f"), as_float), (pstr("d"), as_double)))
    path = torch_zip(tmp_path / "twotypes.pt", pkl, [("0", np.ones(2, "<f4").tobytes())])
    with pytest.raises(CheckpointError, match="storage '0' is used as float32 and as float64; "
                                              "torch writes one type per storage"):
        load(path)
    # torch itself refuses to write such a file
    base = torch.ones(2)
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        torch.save({"f": base, "i": base.view(torch.int32)}, tmp_path / "torch.pt")


def test_a_v3_dtype_that_contradicts_its_typed_storage_is_refused(tmp_path):
    v3 = (pglobal("torch._utils", "_rebuild_tensor_v3")
          + ptuple(storage("0", 2, "FloatStorage"), pint(0), ptuple(pint(1)), ptuple(pint(1)),
                   op("NEWFALSE"), pglobal("collections", "OrderedDict") + op("EMPTY_TUPLE")
                   + op("REDUCE"), pglobal("torch", "float64"))
          + op("REDUCE"))
    path = torch_zip(tmp_path / "v3.pt", program(pdict((pstr("w"), v3))),
                     [("0", np.ones(2, "<f4").tobytes())])
    with pytest.raises(CheckpointError, match="a torch.float64 tensor on storage '0' of float32"):
        load(path)


def test_unsigned_tensors_on_untyped_storage_still_load(tmp_path):
    torch.save({"u16": torch.tensor([0, 65535], dtype=torch.uint16)}, tmp_path / "u.pt")
    back = load(tmp_path / "u.pt")["u16"]
    assert back.dtype == lw.int32 and back.tolist() == [0, 65535]


def test_the_crafted_files_are_small(tmp_path):
    """Every bomb above is a few hundred bytes: the limits are what the bytes can hold."""
    sizes = [os.path.getsize(one_float_expanded(tmp_path / "a.pt", (2**15, 2**15))),
             os.path.getsize(torch_zip(tmp_path / "b.pt", program(
                 pint(1) + op("LONG_BINPUT", struct.pack("<I", 2**28)))))]
    assert max(sizes) < 700
    assert pickle.loads(program(pint(7))) == 7          # the opcode helpers write real pickles
