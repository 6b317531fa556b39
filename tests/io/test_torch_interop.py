"""torch.save files load without torch (checked in a process where `import torch` fails),
malicious pickles are refused without running, and weights cross between torch and layerwise
both ways (torch.save -> lw.load; lw.save -> safetensors.torch.load_file, and to .pt -> torch.load)."""
import collections
import io
import math
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import safetensors.torch
import torch

import layerwise as lw
from layerwise.io import CheckpointError, load, save

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TORCH_TO_LW = {torch.float32: lw.float32, torch.float64: lw.float64, torch.float16: lw.float16,
               torch.bfloat16: lw.float32, torch.int64: lw.int64, torch.int32: lw.int32,
               torch.int16: lw.int16, torch.int8: lw.int8, torch.uint8: lw.uint8,
               torch.bool: lw.bool, torch.uint16: lw.int32}


def torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def lw_model():
    return lw.nn.Sequential(lw.nn.Linear(5, 8), lw.nn.ReLU(), lw.nn.Linear(8, 3))


def tensors_and_views():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(3, 4, generator=g)
    base = torch.randn(10, generator=g)
    bf = torch.tensor([1.5, -2.25, 3e38, 1e-40, float("inf"), float("nan"), 0.1], dtype=torch.bfloat16)
    return {
        "w": a, "w.T": a.T, "slice": a[1:], "column": a[:, 2], "narrow": a[1:, 1:3],
        "shared_a": base[:6].view(2, 3), "shared_b": base[4:],
        "expanded": torch.randn(3, 1, generator=g).expand(3, 4),
        "bf16": bf, "bf16_matrix_T": torch.randn(4, 3, generator=g).to(torch.bfloat16).T,
        "f16": torch.randn(5, generator=g).half(), "f64": torch.randn(2, 2, generator=g).double(),
        "i64": torch.tensor([-2**62, -1, 0, 2**62 + 12345]), "i32": torch.tensor([-5, 2**31 - 1], dtype=torch.int32),
        "i16": torch.tensor([-32768, 7], dtype=torch.int16), "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8), "bool": torch.tensor([[True, False], [False, True]]),
        "u16": torch.tensor([0, 65535], dtype=torch.uint16),
        "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3), "param": torch.nn.Parameter(torch.ones(2, 2)),
    }


def nested_checkpoint():
    model = torch_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(4, 5)).sum().backward()
        opt.step()
    return {"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "best": float("nan"), "worst": -math.inf, "tags": ("a", "b"), "flags": {1: True, 2: False},
            "none": None, "blob": b"\x00\x01", "size": torch.Size([2, 3]), "dtype": torch.float16,
            "ids": {1, 2, 3}, "big": 2**70, "counts": collections.Counter("abracadabra")}


def rename_top_folder(src, dst, folder):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(folder + "/" + info.filename.split("/", 1)[1], zin.read(info))


LOAD_WITHOUT_TORCH = r"""
import pickle, sys
sys.modules["torch"] = None           # `import torch` now raises ImportError
import numpy as np
import layerwise as lw
from layerwise.io import load
out = {}
for path in sys.argv[2:]:
    out[path] = load(path)
views = out[sys.argv[2]]
facts = {
    "shared storage shares memory": bool(np.shares_memory(views["shared_a"].array, views["shared_b"].array)),
    "slice shares memory with w": bool(np.shares_memory(views["w"].array, views["slice"].array)),
    "torch modules loaded": sorted(m for m, v in sys.modules.items() if m.split(".")[0] == "torch" and v is not None),
    "torch still blocked": sys.modules["torch"] is None,
}
with open(sys.argv[1], "wb") as fh:
    pickle.dump((out, facts), fh)
"""


@pytest.fixture(scope="module")
def loaded_without_torch(tmp_path_factory):
    d = tmp_path_factory.mktemp("torchfiles")
    views, nested, seq = tensors_and_views(), nested_checkpoint(), torch_model().state_dict()
    paths = {"views": d / "views.pt", "nested": d / "nested.pth", "seq": d / "seq.pt",
             "archive": d / "renamed.pt", "odd": d / "odd.pt"}
    torch.save(views, paths["views"])
    torch.save(nested, paths["nested"])
    torch.save(seq, paths["seq"])
    rename_top_folder(paths["views"], paths["archive"], "archive")
    rename_top_folder(paths["seq"], paths["odd"], "my model v2.final")
    result = d / "result.pkl"
    proc = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_TORCH, str(result)]
                          + [str(p) for p in paths.values()],
                          cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with open(result, "rb") as fh:
        out, facts = pickle.load(fh)
    loaded = {k: out[str(p)] for k, p in paths.items()}
    originals = {"views": views, "nested": nested, "seq": seq, "archive": views, "odd": seq}
    return loaded, originals, facts


def plain(x):
    """A comparable form of torch or layerwise objects: tensors become (dtype, ndarray)."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        lw_dtype = TORCH_TO_LW[t.dtype]
        arr = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        return ("tensor", lw_dtype.name, type(x) is torch.nn.Parameter, x.requires_grad,
                arr.astype(lw_dtype.np))
    if isinstance(x, lw.Tensor):
        return ("tensor", x.dtype.name, type(x) is lw.nn.Parameter, x.requires_grad, x.array)
    if isinstance(x, (torch.dtype, lw.dtype)):
        return ("dtype", str(x).split(".")[-1])
    if isinstance(x, (torch.Size, lw.Size)):
        return ("size", tuple(x))
    if isinstance(x, dict):
        return (type(x).__name__, [(plain(k), plain(v)) for k, v in x.items()])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(v) for v in x])
    if isinstance(x, (set, frozenset)):
        return (type(x).__name__, sorted(x))
    return (type(x).__name__, x)


def assert_plain_equal(a, b, where="obj"):
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
        if a.dtype.kind == "f":     # signs of zeros and NaN positions too
            assert np.array_equal(np.signbit(a), np.signbit(b)), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_plain_equal(x, y, f"{where}.{i}")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def test_views_offsets_strides_and_dtypes_give_torchs_values(loaded_without_torch):
    loaded, originals, _ = loaded_without_torch
    got, want = loaded["views"], originals["views"]
    assert type(got) is dict and list(got) == list(want)
    for k in want:
        assert_plain_equal(plain(got[k]), plain(want[k]), k)
    assert got["bf16"].dtype == lw.float32 and got["u16"].dtype == lw.int32
    assert got["w.T"].shape == (4, 3) and got["empty"].shape == (0, 3)


def test_shared_storages_keep_sharing_and_torch_is_never_imported(loaded_without_torch):
    _, _, facts = loaded_without_torch
    assert facts == {"shared storage shares memory": True, "slice shares memory with w": True,
                     "torch modules loaded": [], "torch still blocked": True}


def test_nested_checkpoint_with_optimizer_state_matches_torch(loaded_without_torch):
    loaded, originals, _ = loaded_without_torch
    got, want = loaded["nested"], originals["nested"]
    assert_plain_equal(plain(got), plain(want))
    groups = got["optimizer"]["param_groups"]
    assert type(groups[0]["betas"]) is tuple and list(got["optimizer"]["state"]) == [0, 1, 2, 3]
    assert type(got["model"]) is collections.OrderedDict


@pytest.mark.parametrize("name", ["archive", "odd"])
def test_any_top_level_folder_name(loaded_without_torch, name):
    loaded, originals, _ = loaded_without_torch
    assert_plain_equal(plain(loaded[name]), plain(originals[name]))


def test_torch_sequential_weights_give_the_same_outputs_in_layerwise(loaded_without_torch):
    loaded, _, _ = loaded_without_torch
    model = lw_model()
    model.load_state_dict(loaded["seq"])
    x = np.random.default_rng(0).standard_normal((16, 5)).astype(np.float32)
    want = torch_model()(torch.from_numpy(x)).detach().numpy()
    got = model(lw.from_numpy(x)).array
    assert got.dtype == np.float32
    assert np.max(np.abs(got - want)) <= 1e-6 * np.max(np.abs(want))


def test_round_trip_torch_to_layerwise_and_back_via_safetensors(tmp_path):
    src = torch_model()
    torch.save(src.state_dict(), tmp_path / "torch.pt")
    model = lw_model()
    model.load_state_dict(load(tmp_path / "torch.pt"))
    save(model.state_dict(), tmp_path / "layerwise.safetensors")
    dst = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    dst.load_state_dict(safetensors.torch.load_file(tmp_path / "layerwise.safetensors"))
    for (k, a), (k2, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    x = torch.randn(7, 5)
    assert torch.equal(src(x), dst(x))


def test_layerwise_files_load_in_safetensors_torch_and_back(tmp_path):
    sd = {"f32": lw.randn(3, 2), "f16": lw.randn(4).half(), "f64": lw.randn(2).double(),
          "i64": lw.tensor([-2**62, 5]), "i32": lw.tensor([1, -2], dtype=lw.int32),
          "i16": lw.tensor([3], dtype=lw.int16), "i8": lw.tensor([-1], dtype=lw.int8),
          "u8": lw.tensor([200], dtype=lw.uint8), "bool": lw.tensor([True, False])}
    save(sd, tmp_path / "lw.safetensors")
    got = safetensors.torch.load_file(tmp_path / "lw.safetensors")
    assert set(got) == set(sd)
    for k, t in sd.items():
        assert TORCH_TO_LW[got[k].dtype] == t.dtype and np.array_equal(got[k].numpy(), t.array), k
    # and files written by safetensors.torch (bfloat16 included) load in layerwise
    src = {"bf16": torch.randn(3, 4).to(torch.bfloat16), "f32": torch.randn(2), "i64": torch.arange(3),
           "bool": torch.tensor([True])}
    safetensors.torch.save_file(src, tmp_path / "torch.safetensors", metadata={"format": "pt"})
    back = load(tmp_path / "torch.safetensors")
    assert set(back) == set(src)
    for k, t in src.items():
        assert_plain_equal(plain(back[k]), plain(t), k)


# ============================================================== refusals
class SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


def zip_with_pickle(path, payload: bytes, folder="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", payload)
        z.writestr(f"{folder}/byteorder", "little")
        z.writestr(f"{folder}/version", "3\n")


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("kind, name", [(SystemCall, r"posix\.system"),
                                        (Eval, r"(builtins|__builtin__)\.eval")])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, kind, name, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weight": [1.0], "evil": kind(marker)}, protocol=protocol)
    path = tmp_path / "evil.pt"
    zip_with_pickle(path, payload)
    with pytest.raises(CheckpointError, match=f"evil.pt: refusing to unpickle global '{name}'"):
        load(path)
    assert not marker.exists()


def test_whole_module_pickles_are_refused_with_advice(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"'torch\.nn\.modules\.linear\.Linear'.*model\.state_dict\(\)"):
        load(tmp_path / "model.pt")


def test_numpy_objects_inside_torch_files_are_refused(tmp_path):
    torch.save({"best_acc": np.float64(0.93)}, tmp_path / "np.pt")
    with pytest.raises(CheckpointError, match=r"global 'numpy\..*NumPy objects inside torch files"):
        load(tmp_path / "np.pt")


def test_pickles_that_modify_allowed_objects_or_fake_storages_are_refused(tmp_path):
    path = tmp_path / "build.pt"
    # GLOBAL collections.OrderedDict; {'a': 1}; BUILD (set attributes on the class); STOP
    zip_with_pickle(path, b"\x80\x02ccollections\nOrderedDict\n}X\x01\x00\x00\x00aK\x01sb.")
    with pytest.raises(CheckpointError, match="tries to modify"):
        load(path)
    # a tensor built from something that is not an archive storage
    zip_with_pickle(path, b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(]K\x00K\x01\x85K\x01\x85\x89tR.")
    with pytest.raises(CheckpointError, match="built from list, not a storage"):
        load(path)
    # a persistent id naming a storage the archive does not hold
    zip_with_pickle(path, b"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000"
                          b"X\x03\x00\x00\x00cpuK\x02tQ.")
    with pytest.raises(CheckpointError, match="storage '0' is missing from the archive"):
        load(path)


def test_storage_size_and_view_bounds_are_checked(tmp_path):
    torch.save({"w": torch.arange(6.0)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as zin, zipfile.ZipFile(tmp_path / "short.pt", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, data[:-4] if info.filename.endswith("/data/0") else data)
    with pytest.raises(CheckpointError, match="storage '0' holds 20 bytes but the pickle says 6 elements of 4 bytes"):
        load(tmp_path / "short.pt")


def test_big_endian_archives(tmp_path):
    w = torch.randn(2, 3, dtype=torch.float64)
    torch.save({"w": w.T, "s": w[1]}, tmp_path / "little.pt")
    with zipfile.ZipFile(tmp_path / "little.pt") as zin, zipfile.ZipFile(tmp_path / "big.pt", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                data = np.frombuffer(data, "<f8").astype(">f8").tobytes()
            zout.writestr(info.filename, data)
    back = load(tmp_path / "big.pt")
    assert back["w"].array.dtype == np.float64 and back["w"].array.dtype.isnative
    assert np.array_equal(back["w"].array, w.T.numpy()) and np.array_equal(back["s"].array, w[1].numpy())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")      # torch.jit is deprecated
def test_legacy_and_torchscript_files_are_refused(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy"):
        load(tmp_path / "legacy.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    with pytest.raises(CheckpointError, match="TorchScript"):
        load(tmp_path / "script.pt")


def test_damaged_torch_files_are_refused_or_load_unchanged(tmp_path):
    torch.save(tensors_and_views(), tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    want = plain(load(tmp_path / "good.pt"))
    for n in list(range(0, len(data), 61)) + [len(data) - 1]:
        with pytest.raises(CheckpointError):
            load(io.BytesIO(data[:n]))
    rng = np.random.default_rng(0)
    refused = 0
    for i in rng.choice(len(data), 300, replace=False):
        flipped = bytearray(data)
        flipped[i] ^= 1 << int(rng.integers(8))
        try:
            got = load(io.BytesIO(bytes(flipped)))
        except CheckpointError:
            refused += 1
            continue
        assert_plain_equal(plain(got), want, f"flip at byte {i}")   # harmless flips only
    # data.pkl and the storages are CRC-checked; the rest of the file is mostly zip headers and
    # alignment padding, where a flip is harmless or breaks the archive
    assert refused > 100


# ---------------------------------------------------------------------- writing torch files
LW_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def test_torch_load_reads_layerwise_torch_files_with_weights_only(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {d: lw.tensor((rng.standard_normal((2, 3)) * 50).astype(d)) for d in LW_DTYPES}
    obj = {"tensors": tensors, "scalar": lw.tensor(2.5), "empty": lw.zeros(0, 4),
           "array": np.arange(5, dtype=np.int64), "step": 7, "huge": -(2 ** 100), "lr": 1e-3,
           "nan": float("nan"), "flags": (True, False, None), "names": ["a", "é"], 3: "int key",
           "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
           "numpy_scalars": [np.float32(0.5), np.int64(-3), np.bool_(True)]}
    path = tmp_path / "all.pt"
    lw.save(obj, path)                                  # a .pt path: torch's format
    back = torch.load(path)                             # weights_only=True, torch's default
    for d in LW_DTYPES:
        t = back["tensors"][d]
        assert str(t.dtype) == f"torch.{d}" and t.shape == (2, 3)
        np.testing.assert_array_equal(t.numpy(), tensors[d].numpy())
    assert back["scalar"].shape == () and back["scalar"].item() == 2.5
    assert back["empty"].shape == (0, 4) and back["array"].tolist() == [0, 1, 2, 3, 4]
    assert back["step"] == 7 and back["huge"] == -(2 ** 100) and back["lr"] == 1e-3
    assert math.isnan(back["nan"]) and back["flags"] == (True, False, None)
    assert back["names"] == ["a", "é"] and back[3] == "int key"
    assert type(back["ordered"]) is collections.OrderedDict and list(back["ordered"]) == ["z", "a"]
    assert back["numpy_scalars"] == [0.5, -3, True] and type(back["numpy_scalars"][2]) is bool
    # layerwise's own reader agrees, and torch can memory-map the (64-byte aligned) storages
    mine = lw.load(path)
    np.testing.assert_array_equal(mine["tensors"]["float16"].numpy(), tensors["float16"].numpy())
    mapped = torch.load(path, mmap=True)
    np.testing.assert_array_equal(mapped["tensors"]["float64"].numpy(), tensors["float64"].numpy())
    with zipfile.ZipFile(path) as zf:                  # every record starts 64-byte aligned
        assert all((i.header_offset + 30 + len(i.filename) + len(i.extra)) % 64 == 0
                   for i in zf.infolist())
        assert zf.read("archive/byteorder") == b"little" and zf.read("archive/version") == b"3\n"


def test_model_trained_in_layerwise_loads_into_torch_with_torch_load(tmp_path):
    model = lw_model()
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    lw.save(model.state_dict(), tmp_path / "mlp.pth")
    ref = torch_model()
    ref.load_state_dict(torch.load(tmp_path / "mlp.pth"))
    with torch.no_grad(), lw.no_grad():
        np.testing.assert_allclose(ref(torch.from_numpy(x)).numpy(),
                                   model(lw.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_tied_weights_share_one_storage_and_parameters_stay_parameters(tmp_path):
    emb = lw.nn.Embedding(10, 4)
    head = lw.nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    sd = {"wte.weight": emb.weight, "lm_head.weight": head.weight, "plain": emb.weight.detach()}
    lw.save(sd, tmp_path / "tied.pt")
    back = torch.load(tmp_path / "tied.pt")
    assert isinstance(back["wte.weight"], torch.nn.Parameter) and back["wte.weight"].requires_grad
    assert back["wte.weight"].data_ptr() == back["lm_head.weight"].data_ptr()
    with zipfile.ZipFile(tmp_path / "tied.pt") as zf:
        assert sorted(n for n in zf.namelist() if "/data/" in n) == ["archive/data/0"]
    np.testing.assert_array_equal(back["plain"].numpy(), emb.weight.detach().numpy())


def test_torch_format_is_chosen_by_suffix_or_argument_and_writes_atomically(tmp_path):
    sd = {"w": lw.ones(3)}
    lw.save(sd, tmp_path / "a.bin", format="torch")
    assert zipfile.is_zipfile(tmp_path / "a.bin")
    lw.save(sd, tmp_path / "b.pt", format="safetensors")
    assert not zipfile.is_zipfile(tmp_path / "b.pt")
    assert torch.equal(torch.load(tmp_path / "a.bin")["w"], torch.ones(3))
    buf = io.BytesIO()
    save(sd, buf, format="torch")
    assert torch.load(io.BytesIO(buf.getvalue()))["w"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="format must be 'safetensors' or 'torch', got 'npz'"):
        lw.save(sd, tmp_path / "c.pt", format="npz")
    # an unsavable object is refused before the file is touched: the old file stays
    path = tmp_path / "keep.pt"
    lw.save(sd, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"the object\['opt'\]\['ids'\] is a set"):
        lw.save({"opt": {"ids": {1, 2}}}, path)
    with pytest.raises(TypeError, match="dtype complex64"):
        lw.save({"z": np.zeros(2, np.complex64)}, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == [
        "a.bin", "b.pt", "keep.pt"]


def test_optimizer_state_written_by_layerwise_loads_into_torch(tmp_path):
    model = lw_model()
    opt = lw.optim.AdamW(model.parameters(), lr=1e-2)
    x = lw.tensor(np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32))
    model(x).pow(2).mean().backward()
    opt.step()
    lw.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ck.pt")
    ck = torch.load(tmp_path / "ck.pt")
    ref = torch_model()
    ref.load_state_dict(ck["model"])
    topt = torch.optim.AdamW(ref.parameters(), lr=1e-2)
    topt.load_state_dict(ck["optimizer"])
    assert topt.state_dict()["param_groups"][0]["lr"] == 1e-2
    np.testing.assert_array_equal(topt.state[ref[0].weight]["exp_avg"].numpy(),
                                  opt.state[model[0].weight]["exp_avg"].numpy())
