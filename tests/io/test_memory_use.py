"""Saving and loading cost no more memory than the tensors themselves: storages stream between
the arrays and the file (no intermediate copies), and ``load(mmap=True)`` maps them instead of
reading them.  Peaks are measured with tracemalloc (NumPy reports its allocations to it) over
one save or load, relative to the tensor's size.

Issue 14, item 3: a 1 GiB tensor from .pt peaked at +2 GB to load (torch +1 GB) and +2 GB to
save (torch +0)."""
import tracemalloc
import zipfile

import numpy as np
import pytest
import safetensors.numpy
import torch

import layerwise as lw
from layerwise.io import load, save

MB = 2**20
SIZE = 32 * MB                       # the tensor's bytes


def peak_bytes(fn):
    """(result, peak bytes allocated while fn ran, beyond what was allocated before)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big():
    values = np.random.default_rng(0).standard_normal(SIZE // 4).astype(np.float32)
    return lw.from_numpy(values.reshape(-1, 1024))


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_saving_copies_nothing(tmp_path, big, suffix):
    path = tmp_path / f"big{suffix}"
    _, peak = peak_bytes(lambda: save({"w": big}, path))
    assert peak < 0.05 * SIZE, peak / MB           # before, for .pt: 2.0 x the tensor
    if suffix == ".pt":
        np.testing.assert_array_equal(torch.load(path)["w"].numpy(), big.numpy())
    else:
        np.testing.assert_array_equal(safetensors.numpy.load_file(path)["w"], big.numpy())


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_loading_holds_one_copy(tmp_path, big, suffix):
    path = tmp_path / f"big{suffix}"
    if suffix == ".pt":
        torch.save({"w": torch.from_numpy(big.numpy())}, path)
    else:
        save({"w": big}, path)
    back, peak = peak_bytes(lambda: load(path))
    assert SIZE <= peak < 1.05 * SIZE, peak / MB     # before, for .pt: 2.0 x the tensor
    np.testing.assert_array_equal(back["w"].array, big.array)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_mmap_maps_the_file_copy_on_write(tmp_path, big, suffix):
    path = tmp_path / f"big{suffix}"
    save({"w": big, "b": lw.arange(5)}, path)
    before = path.read_bytes()
    back, peak = peak_bytes(lambda: load(path, mmap=True))
    assert peak < 0.05 * SIZE, peak / MB
    np.testing.assert_array_equal(back["w"].array, big.array)
    back["w"][0, 0] = 12345.0                         # writes change the tensor, not the file
    assert back["w"][0, 0].item() == 12345.0 and path.read_bytes() == before
    assert back["b"].tolist() == [0, 1, 2, 3, 4]


def test_mmap_of_a_torch_written_file(tmp_path, big):
    t = torch.from_numpy(big.numpy())
    torch.save({"w": t, "wt": t.T, "h": t[:8].half()}, tmp_path / "t.pt")
    back, peak = peak_bytes(lambda: load(tmp_path / "t.pt", mmap=True))
    assert peak < 0.05 * SIZE, peak / MB
    np.testing.assert_array_equal(back["wt"].array, t.T.numpy())
    assert np.shares_memory(back["w"].array, back["wt"].array)
    np.testing.assert_array_equal(back["h"].array, t[:8].half().numpy())


def test_mmap_needs_a_file_on_disk(tmp_path):
    import io
    save({"w": lw.ones(2)}, tmp_path / "x.safetensors")
    buf = io.BytesIO((tmp_path / "x.safetensors").read_bytes())
    with pytest.raises(ValueError, match="mmap=True maps a file on disk"):
        load(buf, mmap=True)
    with open(tmp_path / "x.safetensors", "rb") as fh:          # an open file works
        assert load(fh, mmap=True)["w"].tolist() == [1.0, 1.0]


def test_storages_stay_aligned_when_zip64_records_are_needed(tmp_path, monkeypatch):
    """A storage over 4 GiB gets zip64 sizes in its local header; the padding accounts for
    them (checked here by lowering zipfile's zip64 threshold instead of writing 4 GiB)."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    w = lw.arange(2000.0)
    save({"w": w, "small": lw.ones(3)}, tmp_path / "z.pt")
    zip64 = []
    with zipfile.ZipFile(tmp_path / "z.pt") as zf, open(tmp_path / "z.pt", "rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset + 26)
            n, m = np.frombuffer(fh.read(4), "<u2")
            assert (info.header_offset + 30 + n + m) % 64 == 0, info.filename
            fh.seek(info.header_offset + 30 + n)
            if b"\x01\x00\x10\x00" in fh.read(m):        # the zip64 extra field: id 1, 16 bytes
                zip64.append(info.filename)
    assert zip64 == ["archive/data/0"]
    monkeypatch.undo()
    np.testing.assert_array_equal(torch.load(tmp_path / "z.pt")["w"].numpy(), w.numpy())
    np.testing.assert_array_equal(torch.load(tmp_path / "z.pt", mmap=True)["w"].numpy(), w.numpy())
    np.testing.assert_array_equal(load(tmp_path / "z.pt")["w"].array, w.array)
