"""layerwise.io save/load: exact round trips, safetensors compatibility, atomic writes, verified
loads (every truncation and every single-bit flip of a checkpoint is refused)."""
import collections
import glob
import io
import json
import math
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import safetensors.numpy

import layerwise as lw
from layerwise.io import CheckpointError, load, save
from layerwise.io import checkpoint as ckpt
from layerwise.io import safetensors_format as sf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ALL_DTYPES = [lw.bool, lw.uint8, lw.int8, lw.int16, lw.int32, lw.int64, lw.float16, lw.float32,
              lw.float64]


def assert_same(a, b, where="obj"):
    """Deep equality with exact types: tuples stay tuples, ints stay ints, NaN equals NaN,
    tensors match in class, dtype, shape, requires_grad and bits."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, lw.Tensor):
        assert a.requires_grad == b.requires_grad, where
        a, b = a.array, b.array
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), where
    elif isinstance(a, dict):
        assert len(a) == len(b), where
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert_same(ka, kb, f"{where}<key {ka!r}>")
            assert_same(va, vb, f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), where
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    else:
        assert a == b, where


def sample(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    npd = dtype.np
    if npd.kind == "b":
        return lw.from_numpy(rng.random(shape) > 0.5)
    if npd.kind in "iu":
        info = np.iinfo(npd)
        arr = rng.integers(info.min, info.max, size=shape, dtype=npd, endpoint=True)
        arr.flat[0], arr.flat[1] = info.min, info.max
        return lw.from_numpy(arr)
    arr = (rng.standard_normal(shape) * 100).astype(npd)
    arr.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return lw.from_numpy(arr)


def roundtrip(obj, tmp_path, name="ckpt.safetensors"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


# ============================================================== round trips
def test_nested_structure_round_trips_exactly(tmp_path):
    obj = {
        "tuple": (1, 2.5, "x", (None,), ()),
        "list": [True, False, 0, 1, -7, 2**80, -0.0, 1e-310, 1.7976931348623157e308],
        "specials": [float("nan"), float("inf"), -float("inf")],
        3: "int key", -1: {"nested": {0: [1, {2: (3,)}]}}, (1, "a"): "tuple key",
        2.5: "float key", True: "bool key", None: "none key",
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "bytes": b"\x00\xffbinary", "empty": {}, "empty_list": [], "unicode": "µ∆ \"q\" \n",
        "dtype": lw.float16, "size": lw.Size([2, 3]),
        "np_scalars": [np.float32(1.5), np.int64(-3), np.bool_(True), np.float16(np.nan)],
        "numpy": np.arange(6, dtype=np.uint32).reshape(2, 3),
        "param": lw.nn.Parameter(lw.randn(2, 3)),
        "frozen": lw.nn.Parameter(lw.randn(2), requires_grad=False),
        "grad_tensor": lw.randn(3, requires_grad=True),
        "scalar": lw.tensor(3.25), "empty_tensor": lw.zeros(0, 3),
        "transposed": lw.randn(3, 5).t(),
    }
    back = roundtrip(obj, tmp_path)
    assert_same(obj, back)
    assert isinstance(back["param"], lw.nn.Parameter) and back["param"].requires_grad
    assert isinstance(back["numpy"], np.ndarray)
    assert back["transposed"].array.flags.c_contiguous  # stored in C order, values as the view


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_every_dtype_round_trips_bit_exactly(tmp_path, dtype):
    t = sample(dtype, (4, 5))
    back = roundtrip({"t": t, "nested": [t[1:]]}, tmp_path)
    assert back["t"].dtype == dtype
    assert_same(t, back["t"])
    assert_same(lw.from_numpy(t.array[1:].copy()), back["nested"][0])


def test_big_endian_arrays_are_stored_little_endian(tmp_path):
    arr = np.arange(5, dtype=">f8") / 3
    back = roundtrip({"a": arr}, tmp_path)
    assert back["a"].dtype == np.float64 and back["a"].dtype.isnative
    np.testing.assert_array_equal(back["a"], arr)
    assert safetensors.numpy.load_file(tmp_path / "ckpt.safetensors")["a"].tobytes() == arr.astype("<f8").tobytes()


def test_training_checkpoint_with_optimizer_state_round_trips(tmp_path):
    model = lw.nn.Sequential(lw.nn.Linear(4, 8), lw.nn.ReLU(), lw.nn.Linear(8, 2))
    sd = model.state_dict()
    state = {i: {"step": lw.tensor(12.0), "exp_avg": lw.randn(*p.shape),
                 "exp_avg_sq": lw.rand(*p.shape)} for i, p in enumerate(sd.values())}
    rng = np.random.default_rng(5)
    checkpoint = {
        "model": sd,
        "optimizer": {"state": state,
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0.0, "amsgrad": False, "foreach": None,
                                        "params": [0, 1, 2, 3]}]},
        "scheduler": {"last_epoch": 7, "base_lrs": [0.001], "_last_lr": [0.0005],
                      "milestones": collections.Counter({3: 1, 6: 1})},
        "rng": lw.get_rng_state(), "numpy_rng": rng.bit_generator.state,
        "epoch": 7, "global_step": 2**40 + 1, "best_loss": float("inf"),
    }
    back = roundtrip(checkpoint, tmp_path)
    expected = dict(checkpoint, scheduler=dict(checkpoint["scheduler"],
                                               milestones={3: 1, 6: 1}))   # Counter saves as dict
    assert_same(expected, back)
    # int parameter indices stay ints and the state loads into a model
    assert list(back["optimizer"]["state"]) == [0, 1, 2, 3]
    fresh = lw.nn.Sequential(lw.nn.Linear(4, 8), lw.nn.ReLU(), lw.nn.Linear(8, 2))
    fresh.load_state_dict(back["model"])
    x = lw.randn(5, 4)
    np.testing.assert_array_equal(fresh(x).array, model(x).array)
    # random streams resume where they were
    rng2 = np.random.default_rng()
    rng2.bit_generator.state = back["numpy_rng"]
    assert rng2.random() == rng.random()
    g_saved, g_loaded = lw.Generator(), lw.Generator()
    g_saved.set_state(checkpoint["rng"])
    g_loaded.set_state(back["rng"])
    assert g_loaded.np.random(3).tolist() == g_saved.np.random(3).tolist()


def test_unsavable_objects_raise_before_the_file_is_touched(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": lw.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"obj\['a'\]\[1\]: cannot save an object of type .*object"):
        save({"a": [1, object()]}, path)
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save({"loop": loop}, path)
    with pytest.raises(TypeError, match="dtype complex128"):
        save({"c": np.zeros(2, complex)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    obj = {"a": (1, lw.arange(4)), "b": [np.float64(2.5)]}
    save(obj, buf)
    buf.seek(0)
    assert_same(obj, load(buf))
    # a stream positioned after other data
    prefixed = io.BytesIO(b"junk" + buf.getvalue())
    prefixed.seek(4)
    assert_same(obj, load(prefixed))


# ============================================================== safetensors compatibility
def test_flat_state_dict_is_an_ordinary_safetensors_file(tmp_path):
    sd = collections.OrderedDict((f"layer{i}.{d.name}", sample(d, (2, 3), seed=i))
                                 for i, d in enumerate(ALL_DTYPES))
    path = tmp_path / "model.safetensors"
    save(sd, path)
    plain = safetensors.numpy.load_file(path)
    assert set(plain) == set(sd)
    for k, t in sd.items():
        assert plain[k].dtype == t.array.dtype and plain[k].tobytes() == t.array.tobytes(), k
    back = load(path)
    assert type(back) is collections.OrderedDict and list(back) == list(sd)
    assert_same(sd, back)
    # the header is aligned and the metadata is a str -> str map
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert (8 + n) % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"]["format"] == "pt"
    for name, e in header.items():
        if name != "__metadata__":
            assert e["data_offsets"][0] % np.dtype(sf._DTYPES[e["dtype"]]).itemsize == 0


def test_files_from_the_safetensors_library_load_as_flat_dicts(tmp_path):
    arrays = {"f16": np.arange(6, dtype=np.float16).reshape(2, 3), "f64": np.array([np.pi]),
              "i8": np.array([-128, 127], np.int8), "b": np.array([True, False]),
              "u16": np.array([0, 65535], np.uint16), "u32": np.array([2**32 - 1], np.uint32),
              "scalar": np.array(2.5, np.float32), "empty": np.zeros((0, 4), np.int64)}
    path = tmp_path / "lib.safetensors"
    safetensors.numpy.save_file(arrays, path, metadata={"author": "someone"})
    back = load(path)
    assert type(back) is dict and set(back) == set(arrays)
    for k, a in arrays.items():
        t = back[k]
        assert isinstance(t, lw.Tensor)
        np.testing.assert_array_equal(t.array, a)
    # widened exactly where layerwise lacks the unsigned type
    assert back["u16"].dtype == lw.int32 and back["u32"].dtype == lw.int64
    assert back["f16"].dtype == lw.float16 and back["scalar"].shape == ()


def test_tied_weights_are_stored_once_and_stay_tied(tmp_path):
    shared = lw.randn(50, 20)
    sd = collections.OrderedDict([("emb.weight", shared.detach()), ("head.weight", shared.detach()),
                                  ("head.bias", lw.zeros(50))])
    path = tmp_path / "tied.safetensors"
    save(sd, path)
    assert path.stat().st_size < 50 * 20 * 4 * 2           # one copy of the big matrix
    assert set(safetensors.numpy.load_file(path)) == {"emb.weight", "head.bias"}
    back = load(path)
    assert list(back) == list(sd)
    assert np.shares_memory(back["emb.weight"].array, back["head.weight"].array)
    np.testing.assert_array_equal(back["head.weight"].array, shared.array)
    # the same object twice comes back as one object
    t = lw.randn(3)
    back = roundtrip({"a": [t, t], "b": t}, tmp_path, "same.safetensors")
    assert back["a"][0] is back["a"][1] is back["b"]
    # partly overlapping views are stored separately, with their values
    base = lw.arange(10.0)
    back = roundtrip({"x": base, "y": base[3:]}, tmp_path, "overlap.safetensors")
    np.testing.assert_array_equal(back["y"].array, np.arange(3.0, 10.0))


# ============================================================== atomic writes
def test_exception_mid_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = {"epoch": 1, "w": lw.ones(1000)}
    save(old, path)
    before = path.read_bytes()
    monkeypatch.setattr(sf, "WRITE_CHUNK_BYTES", 1024)
    calls = []

    def fail(written):
        calls.append(written)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "_on_chunk", fail)
    with pytest.raises(OSError, match="No space left"):
        save({"epoch": 2, "w": lw.zeros(100_000)}, path)
    assert calls == [1024, 2048, 3072]
    assert path.read_bytes() == before
    assert_same(old, load(path))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    with pytest.raises(KeyboardInterrupt):
        monkeypatch.setattr(ckpt, "_on_chunk", lambda n: (_ for _ in ()).throw(KeyboardInterrupt))
        save({"w": lw.zeros(10_000)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_write_is_fsynced_then_renamed_then_directory_fsynced(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else
                      f"fsync file {os.fstat(fd).st_size}")
        real_fsync(fd)

    def replace(src, dst):
        assert os.path.dirname(src) == os.path.dirname(os.fspath(dst))
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "ckpt.safetensors"
    save({"w": lw.ones(10)}, path)
    size = path.stat().st_size
    assert events == [f"fsync file {size}", "replace", "fsync dir"]


def test_permissions_of_the_previous_file_are_kept(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"a": 1}, path)
    os.chmod(path, 0o640)
    save({"a": 2}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and load(path) == {"a": 2}


KILL_SCRIPT = r"""
import sys, time
import layerwise as lw
from layerwise.io import checkpoint, safetensors_format
safetensors_format.WRITE_CHUNK_BYTES = 1 << 16
def slow(written):
    if written == 1 << 16:
        print("writing", flush=True)
    time.sleep(0.02)
checkpoint._on_chunk = slow
checkpoint.save({"epoch": 2, "w": lw.zeros(1 << 20)}, sys.argv[1])   # 4 MiB: 64 chunks, ~1.3 s
print("finished", flush=True)
"""


def test_sigkill_mid_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    old = {"epoch": 1, "w": lw.randn(100), "opt": {0: (1, 2)}}
    save(old, path)
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        time.sleep(0.1)
        temps = glob.glob(str(tmp_path / ".ckpt.safetensors.*.tmp"))
        assert len(temps) == 1
        partial = os.path.getsize(temps[0])
        assert 0 < partial < 4 * 2**20
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before            # not replaced, not partially overwritten
    assert_same(old, load(path))
    # the orphaned temporary file is the only trace, and it is not a loadable checkpoint
    with pytest.raises(CheckpointError):
        load(temps[0])


# ============================================================== verified loads
def small_checkpoint():
    return {"model": collections.OrderedDict([("w", lw.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))),
                                              ("b", lw.tensor([1, 2], dtype=lw.int64))]),
            "epoch": 7, "lr": 0.5, "betas": (0.9, 0.999), "flag": True}


def test_every_truncation_is_refused(tmp_path):
    good = tmp_path / "good.safetensors"
    save(small_checkpoint(), good)
    data = good.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for n in range(len(data)):
        bad.write_bytes(data[:n])
        with pytest.raises(CheckpointError) as e:
            load(bad)
        assert str(bad) in str(e.value)
    bad.write_bytes(data + b"\0")
    with pytest.raises(CheckpointError, match="1 unexpected bytes after the tensor data"):
        load(bad)


def test_every_single_bit_flip_is_detected(tmp_path):
    good = tmp_path / "good.safetensors"
    save(small_checkpoint(), good)
    data = bytearray(good.read_bytes())
    missed = []
    for i in range(len(data)):
        for bit in (i % 8, (i + 3) % 8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            try:
                load(io.BytesIO(bytes(flipped)))
            except CheckpointError:
                continue
            missed.append((i, bit))
    assert missed == []


def test_checksum_names_the_damaged_tensor(tmp_path):
    path = tmp_path / "c.safetensors"
    save(small_checkpoint(), path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x10                  # the last tensor stored: "model.w" (int64 before float32)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"c\.safetensors: checksum mismatch in the data of tensor 'model\.w'"):
        load(path)


def _rewrite_header(path, edit):
    """Rewrite a file's header through ``edit(header_dict)``, keeping the payload."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    edit(header)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])


def test_header_tampering_is_detected(tmp_path):
    path = tmp_path / "t.safetensors"
    save(small_checkpoint(), path)

    def change_epoch(h):
        h["__metadata__"]["layerwise"] = h["__metadata__"]["layerwise"].replace('"epoch",7', '"epoch",8')
    _rewrite_header(path, change_epoch)
    with pytest.raises(CheckpointError, match="header checksum mismatch"):
        load(path)
    save(small_checkpoint(), path)
    _rewrite_header(path, lambda h: h["__metadata__"].pop(sf.DIGEST_KEY))
    with pytest.raises(CheckpointError, match="digest entry .* is missing"):
        load(path)


def raw_file(header, payload=b"", n=None):
    text = json.dumps(header).encode() if isinstance(header, (dict, list)) else header
    return (len(text) if n is None else n).to_bytes(8, "little") + text + payload


F32x2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
CORRUPT = {
    "overlap": (raw_file({"a": F32x2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
                "'b': data_offsets \\[4, 12\\] overlap"),
    "gap": (raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
            "gap of 4 unused bytes"),
    "beyond end": (raw_file({"a": F32x2}, bytes(4)), "describes 8 bytes of tensor data but the file holds only 4"),
    "wrong length": (raw_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
                     "needs 12 bytes but data_offsets \\[0, 8\\] span 8"),
    "unknown dtype": (raw_file({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, bytes(16)),
                      "unsupported dtype 'F128'"),
    "negative shape": (raw_file({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
                       "shape \\[-2\\] is not a list of non-negative integers"),
    "bool shape": (raw_file({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, bytes(4)),
                   "is not a list of non-negative integers"),
    "reversed offsets": (raw_file({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, bytes(8)),
                         "begin <= end"),
    "missing field": (raw_file({"a": {"dtype": "F32", "shape": [2]}}, bytes(8)), "must be an object with"),
    "huge header length": (raw_file({"a": F32x2}, bytes(8), n=2**63), "header length field says 9223372036854775808"),
    "zero header length": (raw_file(b"", bytes(16), n=0), "not a checkpoint: neither a safetensors"),
    "invalid json": (raw_file(b'{"a": {"dtype": "F32",', bytes(8)), "not valid UTF-8 JSON"),
    "invalid utf8": (raw_file(b'{"\xff": 1}    '), "not valid UTF-8 JSON"),
    "array header": (raw_file(b"[1, 2, 3]"), "not a checkpoint: neither a safetensors"),
    "duplicate name": (raw_file(b'{"a": ' + json.dumps(F32x2).encode() + b', "a": ' + json.dumps(F32x2).encode() + b"}",
                                bytes(8)), "duplicate key 'a'"),
    "metadata values": (raw_file({"__metadata__": {"k": 1}}), "must be an object mapping strings to strings"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_headers_are_refused_with_a_clear_message(tmp_path, case):
    data, message = CORRUPT[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=f"bad.safetensors: .*{message}"):
        load(path)


def test_garbage_files_are_refused(tmp_path):
    npz = io.BytesIO()
    np.savez(npz, a=np.ones(3))
    cases = {"empty": b"", "short": b"\x01\x02\x03\x04\x05",
             "random": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
             "text": b"hello world, this is not a checkpoint\n" * 20,
             "npz": npz.getvalue(), "legacy pickle": pickle.dumps({"a": 1}, protocol=2),
             "empty zip": _empty_zip()}
    messages = {"empty": "0 bytes long", "short": "5 bytes long", "text": "not a checkpoint",
                "npz": "no '<folder>/data.pkl'", "legacy pickle": "legacy",
                "empty zip": "no '<folder>/data.pkl'", "random": "not a checkpoint"}
    for name, data in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.bin"
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=messages[name]) as e:
            load(path)
        assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors")


def _empty_zip():
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    return buf.getvalue()


def test_structure_metadata_must_match_the_tensors(tmp_path):
    """A (checksummed) file whose structure refers to a tensor it does not hold is refused."""
    path = tmp_path / "s.safetensors"
    arrays = {"w": np.ones(2, np.float32)}
    structure = json.dumps({"version": 1, "root": {"$d": [["w", {"$t": "v", "o": 0, "k": "t"}]]}})
    with open(path, "wb") as fh:
        sf.write(fh, arrays, {"layerwise": structure})
    with pytest.raises(CheckpointError, match="reference to a tensor 'v' that the file does not hold"):
        load(path)
    structure = json.dumps({"version": 99, "root": None})
    with open(path, "wb") as fh:
        sf.write(fh, arrays, {"layerwise": structure})
    with pytest.raises(CheckpointError, match="newer layerwise"):
        load(path)


@pytest.mark.parametrize("name_len", range(1, 40))
def test_header_lengths_that_start_like_a_pickle_still_load(tmp_path, name_len):
    # a safetensors header of length 128, 384, ... begins with byte 0x80, like a pickle opcode
    path = tmp_path / "x.safetensors"
    lw.save({"a" * name_len: lw.zeros(1)}, path)
    assert list(lw.load(path)) == ["a" * name_len]
