"""Ready-made datasets: scikit-learn's 8×8 digits, MNIST and Fashion-MNIST.

MNIST / FashionMNIST follow torchvision's constructor ``(root, train=True,
transform=None, target_transform=None, download=False)`` and attributes (``.data``
uint8 ``(N, 28, 28)``, ``.targets`` int64, ``.classes``).  One difference, by design
(layerwise has no PIL dependency): torchvision's item is ``(PIL.Image, int)``; here

* without a transform, the image is a float32 Tensor ``(1, 28, 28)`` in [0, 1] — what
  torchvision's ``ToTensor()`` would make of that PIL image;
* with a transform, the transform receives the raw ``(28, 28)`` uint8 NumPy array, so a
  torchvision pipeline that starts with ``ToTensor()`` works unchanged.

The files are the original IDX gzip files, checked against their SHA-256 sums on
every load.  ``root`` may hold them directly or in torchvision's ``root/MNIST/raw/``.
``root=None`` means the cache folder ``$LAYERWISE_DATA/<name>`` (``~/.cache/layerwise/
<name>`` when the variable is unset; ``<name>`` is ``mnist`` or ``fashion-mnist``).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .dataset import Dataset

__all__ = ["Digits", "MNIST", "FashionMNIST", "read_idx", "download_file", "cache_dir"]


# ---------------------------------------------------------------------- helpers
def _to_image(raw: np.ndarray, scale: float) -> np.ndarray:
    """uint8 images (..., H, W) → float32 (..., 1, H, W) in [0, 1], the same way per item or batch."""
    return (raw.astype(np.float32) / np.float32(scale))[..., None, :, :]


class _ImageDataset(Dataset):
    """Shared item logic: ``.data`` (N, H, W) uint8 raw pixels, ``.targets`` int64."""

    _scale = 255.0
    _transform_raw = True     # a transform gets the raw uint8 (H, W) array (else the float image)

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            index = int(index)        # 0-d integer Tensors
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{n} items")
        raw = self.data.array[index]
        target = int(self.targets.array[index])
        if self.transform is not None and self._transform_raw:
            img = self.transform(raw)
        else:
            img = Tensor._wrap(_to_image(raw, self._scale))
            if self.transform is not None:
                img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def _lw_batch(self):
        """Whole-batch access for DataLoader, only when items are not transformed (a property
        raising AttributeError, so ``hasattr`` says no when a transform is set)."""
        if self.transform is not None or self.target_transform is not None:
            raise AttributeError("_lw_batch: items are transformed one by one")
        return self._batch

    def _batch(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        return [Tensor._wrap(_to_image(self.data.array[idx], self._scale)),
                Tensor._wrap(self.targets.array[idx])]

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if getattr(self, "root", None) is not None:
            lines.append(f"    Root location: {self.root}")
        lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"    {name}: {getattr(self, name)!r}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- digits
_DIGITS_CACHE = {}


class Digits(_ImageDataset):
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes).

    A fixed 80/20 split: the images are shuffled with ``np.random.default_rng(split_seed)``
    and the first ``int(0.8 * 1797) = 1437`` form the training set (the split of
    ``examples/digits_demo.py``).  ``.data`` is uint8 ``(N, 8, 8)`` with scikit-learn's raw
    values 0–16; an item is ``(float32 Tensor (1, 8, 8) in [0, 1], int)`` (pixels / 16).  A
    transform receives that float image (not the raw array: ``ToTensor``'s division by 255
    would be wrong for values 0–16), so ``Normalize``/``RandomCrop``/flips apply directly.
    Needs scikit-learn
    (``pip install 'layerwise[demo]'``).
    """

    _scale = 16.0
    _transform_raw = False
    classes = [str(i) for i in range(10)]

    def __init__(self, train: bool = True, transform=None, target_transform=None,
                 split_seed: int = 0):
        if split_seed not in _DIGITS_CACHE:
            try:
                from sklearn.datasets import load_digits
            except ImportError:
                raise ImportError("Digits needs scikit-learn, which bundles the 8x8 digits: "
                                  "pip install scikit-learn  (or pip install 'layerwise[demo]')"
                                  ) from None
            bunch = load_digits()
            images = bunch.images.astype(np.uint8)           # values 0..16
            labels = bunch.target.astype(np.int64)
            order = np.random.default_rng(split_seed).permutation(len(images))
            _DIGITS_CACHE[split_seed] = (images[order], labels[order])
        images, labels = _DIGITS_CACHE[split_seed]
        n_train = int(0.8 * len(images))
        part = slice(0, n_train) if train else slice(n_train, None)
        self.train = train
        self.split_seed = split_seed
        self.transform = transform
        self.target_transform = target_transform
        self.data = Tensor._wrap(images[part].copy())
        self.targets = Tensor._wrap(labels[part].copy())


# ---------------------------------------------------------------------- IDX files
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(source, name: str | None = None) -> np.ndarray:
    """Decode an IDX file (gzip-compressed or not) from a path or bytes into an array.

    Checks the magic number (two zero bytes, a type code, the number of dimensions) and
    that the payload has exactly the size the header promises.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw, name = bytes(source), name or "<bytes>"
    else:
        name = name or str(source)
        raw = Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{name}: not a valid gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: IDX header truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dt = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{name}: IDX payload has {len(raw) - header} bytes, the header "
                         f"{shape} promises {expected}")
    arr = np.frombuffer(raw, dtype=dt, offset=header).reshape(shape)
    return arr.astype(dt.newbyteorder("="), copy=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_dir(name: str) -> Path:
    """Where datasets live when no root is given: ``$LAYERWISE_DATA/<name>``, else
    ``~/.cache/layerwise/<name>``."""
    base = os.environ.get("LAYERWISE_DATA")
    base = Path(base).expanduser() if base else Path.home() / ".cache" / "layerwise"
    return base / name


def _default_fetch(url: str, timeout: float = 30.0):
    import urllib.request          # imported here: only downloads need it
    return urllib.request.urlopen(url, timeout=timeout)


def download_file(filename: str, urls, folder, sha256: str, fetch=None) -> Path:
    """Fetch ``filename`` from the first of ``urls`` (mirror base URLs, tried in order) that
    serves it with the expected SHA-256, into ``folder``; return its path.

    The file is streamed into a temporary file in ``folder`` and moved into place with
    ``os.replace`` only after its checksum matched, so ``folder`` never holds a partial or
    corrupt file under the final name.  ``fetch(url)`` returns a readable binary stream
    (default: ``urllib.request.urlopen``, which also handles ``file://`` URLs).  Raises
    ``RuntimeError`` listing every mirror's failure when none worked.
    """
    fetch = fetch or _default_fetch
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    failures = []
    for base in urls:
        url = base.rstrip("/") + "/" + filename
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                stream = fetch(url)
                try:
                    for chunk in iter(lambda: stream.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != sha256:
                failures.append(f"{url}: checksum mismatch (expected sha256 {sha256}, got "
                                f"{h.hexdigest()})")
                continue
            os.chmod(tmp, 0o644)           # mkstemp makes it private; a cache is for reading
            os.replace(tmp, target)
            return target
        except Exception as e:      # noqa: BLE001 - any failure means: try the next mirror
            failures.append(f"{url}: {type(e).__name__}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise RuntimeError(f"could not download {filename} from any mirror:\n  " + "\n  ".join(failures))


# ---------------------------------------------------------------------- MNIST family
class MNIST(_ImageDataset):
    """MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 train / 10,000 test images.

    ``root`` holds the four original files (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``) directly or in ``root/MNIST/raw/``; ``root=None`` means
    ``cache_dir('mnist')``.  ``download=True`` fetches missing files from ``mirrors``
    (into ``root/MNIST/raw/``, or the cache folder when ``root`` is None).  Every file's
    SHA-256 is checked.  See the module docstring for what an item is.
    """

    name = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        wanted = [(f, s) for f, s in self.resources if f.startswith(prefix)]
        files = [f for f, _ in wanted]
        candidates = self._candidates()
        folder = next((c for c in candidates if all((c / f).is_file() for f in files)), None)
        if download:
            folder = folder or candidates[-1]
            for fname, sha in wanted:
                if not (folder / fname).is_file() or _sha256(folder / fname) != sha:
                    try:
                        download_file(fname, self.mirrors, folder, sha)
                    except RuntimeError as e:
                        raise RuntimeError(f"{type(self).__name__}: download failed. {e}\n"
                                           + self._instructions(files, candidates)) from None
        elif folder is None:
            raise FileNotFoundError(f"{type(self).__name__}: dataset files not found.\n"
                                    + self._instructions(files, candidates)
                                    + "\nOr pass download=True to fetch them (needs network access).")
        self.raw_folder = str(folder)
        for fname, sha in wanted:
            actual = _sha256(folder / fname)
            if actual != sha:
                raise RuntimeError(f"{type(self).__name__}: {folder / fname} is corrupt or not the "
                                   f"original file: expected sha256 {sha}, got {actual}. Replace it "
                                   f"with the original file (or delete it and use download=True).")
        (img_file, _), (lbl_file, _) = wanted
        images = read_idx(folder / img_file)
        labels = read_idx(folder / lbl_file)
        if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ValueError(f"{folder / img_file}: expected uint8 images of shape (N, 28, 28), "
                             f"got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"{folder / lbl_file}: expected uint8 labels of shape (N,), got "
                             f"{labels.dtype} {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: {len(images)} images but {len(labels)} labels")
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    def _candidates(self) -> list[Path]:
        if self.root is None:
            return [cache_dir(self.name)]
        root = Path(self.root)
        return [root, root / type(self).__name__ / "raw"]

    def _instructions(self, files, candidates) -> str:
        where = " or ".join(str(c) + "/" for c in candidates)
        missing = {str(c): [f for f in files if not (c / f).is_file()] for c in candidates}
        have = "; ".join(f"{c}/ lacks {', '.join(m)}" for c, m in missing.items())
        return (f"Put these original gzip files (not unpacked) in {where}: "
                f"{', '.join(files)} ({have}).")


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando Research, MIT licence, © 2017 Zalando SE): 28×28 grayscale
    images of 10 kinds of article, with MNIST's file names and format.  Files go directly
    in ``root`` or in ``root/FashionMNIST/raw/``; ``root=None`` means
    ``cache_dir('fashion-mnist')``."""

    name = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        ("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        ("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        ("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]
