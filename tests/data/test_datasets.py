"""Digits, MNIST, Fashion-MNIST: loading the real files, checksums, IDX decoding, errors, download.

The data lives outside the repository (``../shared/data`` from the repo root; override with
``LAYERWISE_TEST_DATA``).  Downloads are tested against local ``file://`` mirrors only.
"""
import gzip
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader, Subset, default_collate
from layerwise.data import datasets as D
from layerwise.data.transforms import Compose, Lambda, Normalize, ToTensor

DATA = Path(os.environ.get("LAYERWISE_TEST_DATA")
            or Path(__file__).resolve().parents[2].parent / "shared" / "data")
MNIST_DIR, FASHION_DIR = DATA / "mnist", DATA / "fashion-mnist"

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TEST_FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(scope="module")
def mnist_train():
    return D.MNIST(MNIST_DIR, train=True)


@pytest.fixture(scope="module")
def mnist_test():
    return D.MNIST(MNIST_DIR, train=False)


def copy_test_split(folder, source=MNIST_DIR, files=TEST_FILES):
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(source / f, folder / f)
    return folder


# ---------------------------------------------------------------------- the real files
def test_mnist_train_arrays_and_label_counts(mnist_train):
    ds = mnist_train
    assert len(ds) == 60000
    assert ds.data.dtype == lw.uint8 and ds.data.shape == (60000, 28, 28)
    assert ds.targets.dtype == lw.int64 and ds.targets.shape == (60000,)
    assert np.bincount(ds.targets.numpy()).tolist() == MNIST_TRAIN_COUNTS
    assert round(float(ds.data.numpy().mean()), 2) == 33.32
    assert ds.classes[3] == "3 - three" and ds.class_to_idx["9 - nine"] == 9
    assert "Number of datapoints: 60000" in repr(ds) and "Split: Train" in repr(ds)


def test_mnist_items_and_transforms(mnist_test):
    ds = mnist_test
    assert len(ds) == 10000
    assert np.bincount(ds.targets.numpy()).tolist() == MNIST_TEST_COUNTS
    img, label = ds[7]
    raw = ds.data.numpy()[7]
    assert isinstance(label, int) and label == int(ds.targets.numpy()[7])
    assert img.dtype == lw.float32 and img.shape == (1, 28, 28)
    np.testing.assert_array_equal(img.numpy()[0], raw.astype(np.float32) / np.float32(255))
    assert img.numpy().min() == 0.0 and img.numpy().max() == 1.0
    # with a transform: it receives the raw (28, 28) uint8 array, as torchvision's PIL image
    seen = []
    t = D.MNIST(MNIST_DIR, train=False, transform=Lambda(lambda a: seen.append(a) or a.shape),
                target_transform=lambda y: -y)
    assert t[7] == ((28, 28), -label)
    assert seen[0].dtype == np.uint8 and np.array_equal(seen[0], raw)
    norm = D.MNIST(MNIST_DIR, train=False, transform=Compose([ToTensor(), Normalize((0.5,), (0.25,))]))
    np.testing.assert_allclose(norm[7][0].numpy()[0], (raw / 255 - 0.5) / 0.25, rtol=1e-6, atol=1e-6)


def test_loader_batches_mnist_without_per_item_work_and_equal_to_items(mnist_test):
    idx = [3, 9999, 0, 3]
    fast = next(iter(DataLoader(Subset(mnist_test, idx), batch_size=4)))
    slow = default_collate([mnist_test[i] for i in idx])
    assert fast[0].shape == (4, 1, 28, 28) and fast[0].dtype == lw.float32
    assert fast[1].dtype == lw.int64
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype
        np.testing.assert_array_equal(f.numpy(), s.numpy())
    n = sum(len(y) for _, y in DataLoader(mnist_test, batch_size=1000, shuffle=True))
    assert n == 10000
    # with a transform the loader goes item by item
    tf = D.MNIST(MNIST_DIR, train=False, transform=ToTensor())
    assert not hasattr(tf, "_lw_batch") and hasattr(mnist_test, "_lw_batch")
    np.testing.assert_array_equal(next(iter(DataLoader(Subset(tf, idx), batch_size=4)))[0].numpy(),
                                  fast[0].numpy())


def test_fashion_mnist_train_and_test():
    train = D.FashionMNIST(FASHION_DIR, train=True)
    assert train.data.shape == (60000, 28, 28)
    assert np.bincount(train.targets.numpy()).tolist() == [6000] * 10
    assert round(float(train.data.numpy().mean()), 2) == 72.94
    test = D.FashionMNIST(FASHION_DIR, train=False)
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    assert test.classes[9] == "Ankle boot"
    # Fashion-MNIST files are not MNIST's: the checksums tell them apart
    with pytest.raises(RuntimeError, match="corrupt or not the original file"):
        D.MNIST(FASHION_DIR, train=False)


# ---------------------------------------------------------------------- layouts and errors
def test_torchvision_layout_and_cache_dir(tmp_path, monkeypatch, mnist_test):
    copy_test_split(tmp_path / "MNIST" / "raw")
    ds = D.MNIST(tmp_path, train=False)
    assert ds.raw_folder == str(tmp_path / "MNIST" / "raw")
    np.testing.assert_array_equal(ds.data.numpy(), mnist_test.data.numpy())
    # root=None reads $LAYERWISE_DATA/<name>
    copy_test_split(tmp_path / "cache" / "fashion-mnist", FASHION_DIR)
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "cache"))
    assert D.cache_dir("mnist") == tmp_path / "cache" / "mnist"
    assert len(D.FashionMNIST(train=False)) == 10000
    monkeypatch.delenv("LAYERWISE_DATA")
    assert D.cache_dir("mnist") == Path.home() / ".cache" / "layerwise" / "mnist"


def test_corrupt_file_names_file_and_both_hashes(tmp_path):
    folder = copy_test_split(tmp_path)
    raw = bytearray((folder / TEST_FILES[1]).read_bytes())
    raw[-1] ^= 0xFF
    (folder / TEST_FILES[1]).write_bytes(bytes(raw))
    import hashlib
    actual = hashlib.sha256(bytes(raw)).hexdigest()
    expected = dict(D.MNIST.resources)[TEST_FILES[1]]
    with pytest.raises(RuntimeError) as err:
        D.MNIST(tmp_path, train=False)
    msg = str(err.value)
    assert str(folder / TEST_FILES[1]) in msg and expected in msg and actual in msg


def test_missing_file_says_which_files_go_where(tmp_path):
    copy_test_split(tmp_path, files=TEST_FILES[:1])
    with pytest.raises(FileNotFoundError) as err:
        D.MNIST(tmp_path, train=False)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz" in msg
    assert f"{tmp_path}/ or {tmp_path / 'MNIST' / 'raw'}/" in msg
    assert f"{tmp_path}/ lacks t10k-labels-idx1-ubyte.gz" in msg
    assert "download=True" in msg


# ---------------------------------------------------------------------- download (no network)
def test_download_from_local_mirrors_skips_bad_ones(tmp_path, monkeypatch, mnist_test):
    bad = tmp_path / "bad-mirror"
    copy_test_split(bad)
    (bad / TEST_FILES[0]).write_bytes(b"\x1f\x8b not the file")
    good = copy_test_split(tmp_path / "good-mirror")
    monkeypatch.setattr(D.MNIST, "mirrors", [(tmp_path / "nowhere").as_uri(), bad.as_uri(),
                                             good.as_uri()])
    ds = D.MNIST(tmp_path / "root", train=False, download=True)
    raw = tmp_path / "root" / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == TEST_FILES            # no temporary files left behind
    np.testing.assert_array_equal(ds.targets.numpy(), mnist_test.targets.numpy())
    # a later download=True finds the verified files and fetches nothing
    monkeypatch.setattr(D.MNIST, "mirrors", [])
    assert len(D.MNIST(tmp_path / "root", train=False, download=True)) == 10000
    # a damaged file is fetched again when download=True
    (raw / TEST_FILES[1]).write_bytes(b"damaged")
    monkeypatch.setattr(D.MNIST, "mirrors", [good.as_uri()])
    ds = D.MNIST(tmp_path / "root", train=False, download=True)
    np.testing.assert_array_equal(ds.targets.numpy(), mnist_test.targets.numpy())
    assert (raw / TEST_FILES[1]).read_bytes() == (MNIST_DIR / TEST_FILES[1]).read_bytes()


def test_download_into_cache_dir_and_failure_message(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(D.FashionMNIST, "mirrors", [copy_test_split(tmp_path / "m", FASHION_DIR).as_uri()])
    assert len(D.FashionMNIST(train=False, download=True)) == 10000
    assert sorted(os.listdir(tmp_path / "cache" / "fashion-mnist")) == TEST_FILES
    # no mirror reachable: the error lists each mirror's failure and where the files go
    monkeypatch.setattr(D.MNIST, "mirrors", [(tmp_path / "offline").as_uri()])
    with pytest.raises(RuntimeError) as err:
        D.MNIST(train=False, download=True)
    msg = str(err.value)
    assert "could not download t10k-images-idx3-ubyte.gz" in msg
    assert (tmp_path / "offline").as_uri() + "/t10k-images-idx3-ubyte.gz" in msg
    assert f"in {tmp_path / 'cache' / 'mnist'}/" in msg
    assert os.listdir(tmp_path / "cache" / "mnist") == []


def test_download_file_is_atomic_with_an_injected_fetch(tmp_path):
    payload = b"0123456789" * 1000
    import hashlib
    sha = hashlib.sha256(payload).hexdigest()

    class Broken:
        """A stream that dies half way, as a dropped connection."""
        def __init__(self):
            self.sent = False

        def read(self, n):
            if self.sent:
                raise ConnectionResetError("connection dropped")
            self.sent = True
            return payload[:5000]

    calls = []

    def fetch(url):
        calls.append(url)
        if "first" in url:
            return Broken()
        import io
        return io.BytesIO(payload)

    (tmp_path / "f.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="ConnectionResetError: connection dropped"):
        D.download_file("f.bin", ["http://first/"], tmp_path, sha, fetch=fetch)
    assert os.listdir(tmp_path) == ["f.bin"] and (tmp_path / "f.bin").read_bytes() == b"old"
    path = D.download_file("f.bin", ["http://first", "http://second/x/"], tmp_path, sha, fetch=fetch)
    assert path.read_bytes() == payload and os.listdir(tmp_path) == ["f.bin"]
    assert calls[-2:] == ["http://first/f.bin", "http://second/x/f.bin"]


# ---------------------------------------------------------------------- IDX decoding
def idx_bytes(arr, code=0x08):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_read_idx_decodes_and_checks_headers(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(D.read_idx(idx_bytes(a)), a)
    p = tmp_path / "x.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.array([1.5, -2.0], np.float32), 0x0D)))
    out = D.read_idx(p)
    assert out.dtype == np.float32 and out.tolist() == [1.5, -2.0]
    i32 = np.array([[70000, -1]], np.int32)
    np.testing.assert_array_equal(D.read_idx(idx_bytes(i32, 0x0C)), i32)
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(b"\x01\x00\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match=r"payload has 23 bytes, the header \(2, 3, 4\) promises 24"):
        D.read_idx(idx_bytes(a)[:-1], name="cut")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        D.read_idx(gzip.compress(idx_bytes(a))[:-10])


def test_mnist_rejects_files_of_the_wrong_shape(tmp_path, monkeypatch):
    import hashlib
    images = gzip.compress(idx_bytes(np.zeros((2, 8, 8), np.uint8)))
    labels = gzip.compress(idx_bytes(np.zeros(2, np.uint8)))
    (tmp_path / TEST_FILES[0]).write_bytes(images)
    (tmp_path / TEST_FILES[1]).write_bytes(labels)
    monkeypatch.setattr(D.MNIST, "resources", [
        (TEST_FILES[0], hashlib.sha256(images).hexdigest()),
        (TEST_FILES[1], hashlib.sha256(labels).hexdigest())])
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        D.MNIST(tmp_path, train=False)


# ---------------------------------------------------------------------- digits
def test_digits_split_items_and_arrays():
    from sklearn.datasets import load_digits
    bunch = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    train, test = D.Digits(train=True), D.Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    np.testing.assert_array_equal(train.targets.numpy(), bunch.target[order[:1437]])
    np.testing.assert_array_equal(test.data.numpy(), bunch.images[order[1437:]].astype(np.uint8))
    img, label = train[5]
    assert img.dtype == lw.float32 and img.shape == (1, 8, 8) and isinstance(label, int)
    np.testing.assert_array_equal(img.numpy()[0], (bunch.images[order[5]] / 16).astype(np.float32))
    assert 0.0 == img.numpy().min() and img.numpy().max() <= 1.0
    other = D.Digits(train=True, split_seed=1)
    assert not np.array_equal(other.targets.numpy(), train.targets.numpy())
    # a Digits transform gets the float image (pixels / 16), so Normalize applies directly
    norm = D.Digits(train=True, transform=Normalize((0.5,), (0.25,)), target_transform=str)
    x5, y5 = norm[5]
    assert y5 == str(label)
    np.testing.assert_array_equal(x5.numpy(), (img.numpy() - np.float32(0.5)) / np.float32(0.25))
    xb, yb = next(iter(DataLoader(test, batch_size=360)))
    assert xb.shape == (360, 1, 8, 8) and yb.numpy().tolist() == test.targets.numpy().tolist()


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setattr(D, "_DIGITS_CACHE", {})
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)      # makes the import fail
    with pytest.raises(ImportError, match=r"Digits needs scikit-learn.*pip install scikit-learn"):
        D.Digits()
