"""Character-level text for language models: a tokenizer, Tiny Shakespeare, and batches.

    ds = TinyShakespeare(root)                     # .data: int64 token ids, .tokenizer
    val = TinyShakespeare(root, split="val")
    for x, y in lm_batches(ds.data, block_size=64, batch_size=32, generator=g, num_batches=100):
        ...                                        # x, y: int64 (32, 64), y[:, t] == x[:, t + 1]
    eval_set = fixed_batches(val.data, 64, 32, n_batches=10, seed=0)     # the same every time

* ``CharTokenizer``: one id per distinct character (``from_text`` sorts them, so the same text
  always gives the same ids); ``encode`` → int64 array, ``decode`` → str; ``save``/``load`` as
  JSON, written atomically.  A character outside the vocabulary is an error, never a silent id.
* ``TinyShakespeare``: Karpathy's char-rnn corpus (1,115,394 characters, 65 distinct), checked
  against its SHA-256 on every load; split into the first 90 % (train) and the last 10 % (val)
  of the encoded text, both encoded with the vocabulary of the whole file.
* ``LMBatcher`` / ``lm_batches``: random windows of block_size + 1 tokens, split into inputs and
  next-token targets; reproducible with a ``Generator``.  ``fixed_batches``: a fixed evaluation set.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..random import Generator, get_generator
from ..tensor import Tensor
from .dataset import Dataset
from .datasets import _sha256, cache_dir, download_file

__all__ = ["CharTokenizer", "TinyShakespeare", "LMBatcher", "lm_batches", "fixed_batches"]

_FORMAT = "layerwise.CharTokenizer"
_VERSION = 1


# ---------------------------------------------------------------------- tokenizer
class CharTokenizer:
    """Characters ↔ integer ids: id i is ``chars[i]``.

    ``CharTokenizer.from_text(text)`` uses the sorted distinct characters of ``text``.
    """

    def __init__(self, chars):
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer: every vocabulary entry must be a single "
                                 f"character, got {c!r}")
        if len(set(chars)) != len(chars):
            dups = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"CharTokenizer: the vocabulary has repeated characters: "
                             f"{', '.join(map(repr, dups))}")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        codes = np.array([ord(c) for c in chars], dtype=np.uint32)
        self._codes = codes                                          # id → code point
        self._lookup = np.full(int(codes.max()) + 1 if codes.size else 0, -1, np.int64)
        self._lookup[codes] = np.arange(len(chars))                  # code point → id or −1

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.from_text: expected a str, got {type(text).__name__}")
        return cls(sorted(set(text)))

    @property
    def itos(self) -> list:
        return self.chars

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, CharTokenizer) and self.chars == other.chars

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    # -------------------------------------------------------------- encode / decode
    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text`` as an int64 array of shape (len(text),)."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        ids = np.full(points.shape, -1, np.int64)
        inside = points < self._lookup.size
        ids[inside] = self._lookup[points[inside]]
        unknown = ids < 0
        if unknown.any():
            where = np.flatnonzero(unknown)
            missing = sorted(set(chr(p) for p in points[where]))
            shown = ", ".join(map(repr, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise ValueError(f"CharTokenizer.encode: {len(missing)} character(s) not in the "
                             f"vocabulary of {self.vocab_size}: {shown} (first at position "
                             f"{int(where[0])}); build the tokenizer from text that contains "
                             "them")
        return ids

    def decode(self, ids) -> str:
        """The text of a sequence of ids (list, NumPy array or integer Tensor, any shape, read in
        order)."""
        if isinstance(ids, Tensor):
            ids = ids.array
        arr = np.asarray(ids)
        if arr.size == 0:
            return ""
        if arr.dtype.kind not in "iu":
            raise TypeError(f"CharTokenizer.decode: expected integer ids, got {arr.dtype}")
        arr = arr.reshape(-1)
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise IndexError(f"CharTokenizer.decode: id {int(arr[i])} (at position {i}) is out of "
                             f"range for a vocabulary of {self.vocab_size} (valid ids are 0 to "
                             f"{self.vocab_size - 1})")
        return self._codes[arr].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    # -------------------------------------------------------------- save / load
    def save(self, path) -> None:
        """Write the vocabulary as JSON, atomically: a temporary file in the same folder, then
        ``os.replace``, so ``path`` never holds a partial file."""
        path = Path(path)
        payload = {"format": _FORMAT, "version": _VERSION, "chars": self.chars}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, ensure_ascii=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as f:
                payload = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"CharTokenizer.load: {path} is not valid JSON ({e})") from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"CharTokenizer.load: {path} is not a saved CharTokenizer (no "
                             f"'format': {_FORMAT!r} entry)")
        if payload.get("version") != _VERSION:
            raise ValueError(f"CharTokenizer.load: {path} has version {payload.get('version')!r}; "
                             f"this layerwise reads version {_VERSION}")
        chars = payload.get("chars")
        if not isinstance(chars, list):
            raise ValueError(f"CharTokenizer.load: {path} has no 'chars' list")
        try:
            return cls(chars)
        except ValueError as e:
            raise ValueError(f"CharTokenizer.load: {path}: {e}") from None


# ---------------------------------------------------------------------- Tiny Shakespeare
class TinyShakespeare(Dataset):
    """Tiny Shakespeare (Karpathy's char-rnn corpus), character-level.

    ``root`` holds ``input.txt`` directly or in ``root/tinyshakespeare/``; ``root=None`` means
    ``cache_dir('tinyshakespeare')`` (``$LAYERWISE_DATA/tinyshakespeare``).  ``download=True``
    fetches a missing (or corrupt) file from ``mirrors`` into ``root/tinyshakespeare/`` (or the
    cache folder).  The SHA-256 is checked on every load.

    ``split='train'`` is the first 90 % of the encoded text, ``'val'`` the last 10 %.  The
    tokenizer is built from the whole file (so both splits share it) unless one is given.
    Attributes: ``.data`` (int64 Tensor of token ids), ``.tokenizer``, ``.text`` (the split's
    text), ``.vocab_size``.  As a Dataset: with ``block_size`` an item is the window
    ``(x, y) = (data[i : i + block_size], data[i + 1 : i + block_size + 1])``, and there are
    ``len(data) − block_size`` of them; without it an item is one token id.
    """

    name = "tinyshakespeare"
    filename = "input.txt"
    sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    mirrors = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"]
    train_fraction = 0.9
    splits = ("train", "val")

    def __init__(self, root=None, split: str = "train", download: bool = False,
                 block_size: int | None = None, tokenizer: CharTokenizer | None = None):
        if split not in self.splits:
            raise ValueError(f"TinyShakespeare: split must be 'train' or 'val', got {split!r}")
        if block_size is not None and (isinstance(block_size, bool) or
                                       not isinstance(block_size, int) or block_size < 1):
            raise ValueError(f"TinyShakespeare: block_size must be a positive int or None, got "
                             f"{block_size!r}")
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.split = split
        self.block_size = block_size
        candidates = self._candidates()
        folder = next((c for c in candidates if (c / self.filename).is_file()), None)
        if download and (folder is None or _sha256(folder / self.filename) != self.sha256):
            folder = folder or candidates[-1]
            try:
                download_file(self.filename, self.mirrors, folder, self.sha256)
            except RuntimeError as e:
                raise RuntimeError(f"TinyShakespeare: download failed. {e}\n"
                                   + self._instructions(candidates)) from None
        elif folder is None:
            raise FileNotFoundError("TinyShakespeare: dataset file not found.\n"
                                    + self._instructions(candidates)
                                    + "\nOr pass download=True to fetch it (needs network access).")
        self.path = folder / self.filename
        actual = _sha256(self.path)
        if actual != self.sha256:
            raise RuntimeError(f"TinyShakespeare: {self.path} is corrupt or not the original file: "
                               f"expected sha256 {self.sha256}, got {actual}. Replace it with the "
                               "original file (or delete it and use download=True).")
        full = self.path.read_bytes().decode("utf-8")
        self.tokenizer = tokenizer if tokenizer is not None else CharTokenizer.from_text(full)
        ids = self.tokenizer.encode(full)
        cut = int(len(ids) * self.train_fraction)
        part = slice(0, cut) if split == "train" else slice(cut, None)
        self.text = full[part]
        self.data = Tensor._wrap(ids[part].copy())

    def _candidates(self) -> list[Path]:
        if self.root is None:
            return [cache_dir(self.name)]
        root = Path(self.root)
        return [root, root / self.name]

    def _instructions(self, candidates) -> str:
        where = " or ".join(str(c) + "/" for c in candidates)
        return (f"Put the original {self.filename} (1,115,394 bytes, sha256 {self.sha256}) in "
                f"{where}.")

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def __len__(self):
        n = self.data.shape[0]
        return n if self.block_size is None else max(n - self.block_size, 0)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            index = int(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"TinyShakespeare: index {index} is out of range for {n} items")
        index %= n
        if self.block_size is None:
            return int(self.data.array[index])
        w = self.data.array[index:index + self.block_size + 1]
        return Tensor._wrap(w[:-1].copy()), Tensor._wrap(w[1:].copy())

    @property
    def _lw_batch(self):
        """Whole-batch access for DataLoader (windows only)."""
        if self.block_size is None:
            raise AttributeError("_lw_batch: items are single tokens")
        return self._batch

    def _batch(self, indices):
        return list(_windows(self.data.array, np.asarray(indices, np.int64), self.block_size))

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Split: {self.split}", f"    Tokens: {self.data.shape[0]}",
                 f"    Vocabulary: {self.vocab_size} characters"]
        if self.root is not None:
            lines.insert(2, f"    Root location: {self.root}")
        if self.block_size is not None:
            lines.append(f"    Block size: {self.block_size}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- batches
def _tokens(data, who) -> np.ndarray:
    """A 1-D integer token array from a Tensor, an array, a sequence or a TinyShakespeare."""
    if isinstance(data, TinyShakespeare):
        data = data.data
    arr = data.array if isinstance(data, Tensor) else np.asarray(data)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{who}: expected a 1-D sequence of integer token ids, got "
                         f"{arr.dtype} of shape {tuple(arr.shape)}")
    return arr.astype(np.int64, copy=False)


def _positive(who, what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {what} must be a positive int, got {value!r}")
    return int(value)


def _windows(data, starts, block_size):
    """x[b] = data[s_b : s_b + T], y[b] = data[s_b + 1 : s_b + T + 1] as int64 Tensors (B, T)."""
    rows = starts[:, None] + np.arange(block_size + 1)
    w = data[rows]
    x, y = np.ascontiguousarray(w[:, :-1]), np.ascontiguousarray(w[:, 1:])
    return Tensor._wrap(x), Tensor._wrap(y)


class LMBatcher:
    """Random language-model batches from one token sequence.

    Each batch takes ``batch_size`` windows of ``block_size + 1`` consecutive tokens, at
    starts drawn uniformly from [0, len(data) − block_size), and splits them into inputs
    ``x = window[:-1]`` and targets ``y = window[1:]`` (int64 Tensors of shape
    (batch_size, block_size)), so y[:, t] == x[:, t + 1] and y[:, t] is the token after x[:, t].
    Draws come from ``generator`` (a ``layerwise.Generator``; the default generator when None):
    the same seed gives the same batches.  ``sample()`` (or calling it) gives one batch;
    iterating gives batches forever.
    """

    def __init__(self, data, block_size, batch_size, generator=None):
        self.data = _tokens(data, "LMBatcher")
        self.block_size = _positive("LMBatcher", "block_size", block_size)
        self.batch_size = _positive("LMBatcher", "batch_size", batch_size)
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"LMBatcher: generator must be a layerwise.Generator or None, got "
                            f"{type(generator).__name__}")
        if len(self.data) < self.block_size + 1:
            raise ValueError(f"LMBatcher: a window needs block_size + 1 = {self.block_size + 1} "
                             f"tokens, but the data has only {len(self.data)}")
        self.generator = generator

    @property
    def num_windows(self) -> int:
        """How many distinct windows there are: len(data) − block_size."""
        return len(self.data) - self.block_size

    def sample(self):
        starts = get_generator(self.generator).integers(0, self.num_windows, self.batch_size)
        return _windows(self.data, starts, self.block_size)

    __call__ = sample

    def __iter__(self):
        while True:
            yield self.sample()

    def __repr__(self):
        return (f"LMBatcher(tokens={len(self.data)}, block_size={self.block_size}, "
                f"batch_size={self.batch_size})")


def lm_batches(data, block_size, batch_size, generator=None, num_batches=None):
    """Random (x, y) batches from ``data`` (see ``LMBatcher``): ``num_batches`` of them, or
    without end when it is None."""
    batcher = LMBatcher(data, block_size, batch_size, generator)       # errors now, not at next()
    if num_batches is None:
        return iter(batcher)
    num_batches = _positive("lm_batches", "num_batches", num_batches)
    return (batcher.sample() for _ in range(num_batches))


def fixed_batches(data, block_size, batch_size, n_batches, seed=0):
    """A fixed evaluation set: ``n_batches`` (x, y) batches drawn as ``LMBatcher`` does, from a
    private generator seeded with ``seed``: the same list on every call, whatever the global
    random state, so validation losses are comparable across steps and runs."""
    n_batches = _positive("fixed_batches", "n_batches", n_batches)
    batcher = LMBatcher(data, block_size, batch_size, Generator().manual_seed(seed))
    return [batcher.sample() for _ in range(n_batches)]
