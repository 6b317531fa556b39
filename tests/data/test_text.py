"""Character-level text: CharTokenizer (round trip, unknown characters, atomic JSON save/load),
TinyShakespeare on the real file (65 characters, the 90/10 split, checksum, missing file, download
from local file:// mirrors, cache folder), and the language-model batches (shapes, dtypes, the
shift-by-one relation, the range of window starts, reproducibility, the fixed evaluation set).

The data lives outside the repository (``../shared/data`` from the repo root; override with
``LAYERWISE_TEST_DATA``), as in test_datasets.py.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader
from layerwise.data import text as T
from layerwise.data.text import CharTokenizer, LMBatcher, TinyShakespeare, fixed_batches, lm_batches

DATA = Path(os.environ.get("LAYERWISE_TEST_DATA")
            or Path(__file__).resolve().parents[2].parent / "shared" / "data")
SHAKESPEARE_DIR = DATA / "tinyshakespeare"
N_CHARS, N_TRAIN = 1115394, 1003854              # int(0.9 · 1,115,394) = 1,003,854


@pytest.fixture(scope="module")
def train():
    return TinyShakespeare(SHAKESPEARE_DIR)


@pytest.fixture(scope="module")
def val():
    return TinyShakespeare(SHAKESPEARE_DIR, split="val")


# ---------------------------------------------------------------------- tokenizer
def test_tokenizer_round_trip_and_sorted_ids():
    text = "hello, wörld!\n\t∑ 😀"
    tok = CharTokenizer.from_text(text)
    assert tok.chars == sorted(set(text)) and tok.vocab_size == len(set(text)) == len(tok)
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert [tok.chars[i] for i in ids] == list(text)
    assert tok.decode(ids) == text
    assert tok.decode(lw.tensor(ids[:18].reshape(3, 6))) == text[:18]          # read in order
    assert tok.decode(ids.tolist()) == text and tok.decode([]) == "" and tok.encode("").size == 0
    assert tok.stoi["h"] == tok.chars.index("h") and tok.itos is tok.chars


def test_tokenizer_unknown_characters_and_bad_ids_are_errors():
    tok = CharTokenizer.from_text("abc ")
    with pytest.raises(ValueError, match=r"CharTokenizer.encode: 2 character\(s\) not in the "
                                         r"vocabulary of 4: 'X', 'z' \(first at position 2\)"):
        tok.encode("abzcXz")
    with pytest.raises(IndexError, match=r"CharTokenizer.decode: id 4 \(at position 1\) is out "
                                         r"of range for a vocabulary of 4 \(valid ids are 0 "
                                         r"to 3\)"):
        tok.decode([0, 4])
    with pytest.raises(IndexError, match="id -1"):
        tok.decode(np.array([-1]))
    with pytest.raises(TypeError, match="expected integer ids, got float64"):
        tok.decode(np.array([1.0]))
    with pytest.raises(ValueError, match="repeated characters: 'a'"):
        CharTokenizer(["a", "b", "a"])
    with pytest.raises(ValueError, match="single character, got 'ab'"):
        CharTokenizer(["ab"])


def test_tokenizer_save_load_is_atomic_json(tmp_path, monkeypatch):
    tok = CharTokenizer.from_text("To be, or not to be: ∑\n")
    path = tmp_path / "vocab.json"
    tok.save(path)
    payload = json.loads(path.read_text())
    assert payload["format"] == "layerwise.CharTokenizer" and payload["chars"] == tok.chars
    assert CharTokenizer.load(path) == tok and list(tmp_path.iterdir()) == [path]
    # a failure half-way through writing leaves the old file whole and no temporary file behind
    real_dump = json.dump

    def boom(obj, f, **kw):
        f.write('{"format": "layerwise.Char')
        f.flush()
        assert CharTokenizer.load(path) == tok           # the target is untouched meanwhile
        raise OSError("disk full")
    monkeypatch.setattr(T.json, "dump", boom)
    with pytest.raises(OSError, match="disk full"):
        CharTokenizer.from_text("xyz").save(path)
    monkeypatch.setattr(T.json, "dump", real_dump)
    assert CharTokenizer.load(path) == tok and list(tmp_path.iterdir()) == [path]
    # the new file is moved into place in one step, from the same folder
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(T.os, "replace", lambda a, b: moves.append((a, b)) or real_replace(a, b))
    new = CharTokenizer.from_text("xyz")
    new.save(path)
    assert len(moves) == 1 and Path(moves[0][0]).parent == tmp_path and moves[0][1] == path
    assert CharTokenizer.load(path) == new and list(tmp_path.iterdir()) == [path]
    monkeypatch.setattr(T.os, "replace", real_replace)
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="is not a saved CharTokenizer"):
        CharTokenizer.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        CharTokenizer.load(path)
    path.write_text(json.dumps({"format": "layerwise.CharTokenizer", "version": 1,
                                "chars": ["a", "a"]}))
    with pytest.raises(ValueError, match="repeated characters"):
        CharTokenizer.load(path)


# ---------------------------------------------------------------------- the real file
def test_tiny_shakespeare_vocabulary_and_splits(train, val):
    assert train.vocab_size == 65 and train.tokenizer == val.tokenizer
    assert train.tokenizer.chars[:3] == ["\n", " ", "!"] and train.tokenizer.chars[-1] == "z"
    assert train.data.dtype == lw.int64 and val.data.dtype == lw.int64
    assert train.data.shape == (N_TRAIN,) and val.data.shape == (N_CHARS - N_TRAIN,)
    assert train.text.startswith("First Citizen:") and len(train.text) == N_TRAIN
    full = (SHAKESPEARE_DIR / "input.txt").read_text()
    assert train.text + val.text == full
    assert train.tokenizer.decode(val.data) == full[N_TRAIN:]
    both = np.concatenate([train.data.numpy(), val.data.numpy()])
    assert len(np.unique(both)) == 65 and both.min() == 0 and both.max() == 64
    assert len(train) == N_TRAIN and train[0] == train.tokenizer.stoi["F"]
    assert "Split: val" in repr(val) and "Vocabulary: 65 characters" in repr(val)


def test_window_items_and_dataloader(val):
    ds = TinyShakespeare(SHAKESPEARE_DIR, split="val", block_size=16)
    assert len(ds) == len(val) - 16
    x, y = ds[5]
    np.testing.assert_array_equal(x.numpy(), val.data.numpy()[5:21])
    np.testing.assert_array_equal(y.numpy(), val.data.numpy()[6:22])
    last_x, last_y = ds[-1]
    assert last_y.numpy()[-1] == val.data.numpy()[-1]
    xb, yb = next(iter(DataLoader(ds, batch_size=3)))            # the fast whole-batch path
    assert xb.shape == (3, 16) and xb.dtype == lw.int64
    np.testing.assert_array_equal(xb.numpy()[2], ds[2][0].numpy())
    np.testing.assert_array_equal(yb.numpy()[:, :-1], xb.numpy()[:, 1:])
    with pytest.raises(IndexError, match="index 111524 is out of range for 111524 items"):
        ds[len(ds)]


def test_given_tokenizer_is_used_and_must_cover_the_text():
    tok = CharTokenizer(list(reversed(CharTokenizer.from_text(
        (SHAKESPEARE_DIR / "input.txt").read_text()).chars)))
    ds = TinyShakespeare(SHAKESPEARE_DIR, split="val", tokenizer=tok)
    assert ds.tokenizer is tok and ds.tokenizer.decode(ds.data[:20]) == ds.text[:20]
    with pytest.raises(ValueError, match="not in the vocabulary of 3"):
        TinyShakespeare(SHAKESPEARE_DIR, tokenizer=CharTokenizer("abc"))


def test_checksum_failure_names_file_and_both_hashes(tmp_path):
    (tmp_path / "input.txt").write_text("First Citizen:\nnot quite the original\n")
    with pytest.raises(RuntimeError, match=r"input.txt is corrupt or not the original file: "
                                           r"expected sha256 86c4e6aa9db7c042.*, got [0-9a-f]{64}"):
        TinyShakespeare(tmp_path)


def test_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        TinyShakespeare(tmp_path / "empty")
    msg = str(e.value)
    assert "TinyShakespeare: dataset file not found" in msg and "input.txt" in msg
    assert f"{tmp_path / 'empty'}/ or {tmp_path / 'empty' / 'tinyshakespeare'}/" in msg
    assert "download=True" in msg
    with pytest.raises(ValueError, match="split must be 'train' or 'val', got 'test'"):
        TinyShakespeare(SHAKESPEARE_DIR, split="test")


def test_download_from_local_mirrors(tmp_path, monkeypatch, val):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "input.txt").write_text("corrupt")
    monkeypatch.setattr(TinyShakespeare, "mirrors",
                        [(tmp_path / "nowhere").as_uri(), bad.as_uri(), SHAKESPEARE_DIR.as_uri()])
    ds = TinyShakespeare(tmp_path / "root", split="val", download=True)
    assert ds.path == tmp_path / "root" / "tinyshakespeare" / "input.txt"
    np.testing.assert_array_equal(ds.data.numpy(), val.data.numpy())
    # a corrupt file in place is replaced when download=True
    ds.path.write_text("damaged")
    TinyShakespeare(tmp_path / "root", split="val", download=True)
    assert ds.path.stat().st_size == N_CHARS
    # no mirror works: every failure is listed, nothing is left behind
    monkeypatch.setattr(TinyShakespeare, "mirrors", [bad.as_uri()])
    with pytest.raises(RuntimeError, match=r"(?s)TinyShakespeare: download failed.*input.txt: "
                                           r"checksum mismatch"):
        TinyShakespeare(tmp_path / "other", download=True)
    assert list((tmp_path / "other" / "tinyshakespeare").iterdir()) == []


def test_cache_dir_when_no_root(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_DATA", str(tmp_path))
    monkeypatch.setattr(TinyShakespeare, "mirrors", [SHAKESPEARE_DIR.as_uri()])
    ds = TinyShakespeare(split="val", download=True)
    assert ds.path == tmp_path / "tinyshakespeare" / "input.txt"
    assert TinyShakespeare(split="val").data.shape == (N_CHARS - N_TRAIN,)    # found there now


# ---------------------------------------------------------------------- batches
def test_batches_shapes_dtypes_and_shift_by_one(train):
    g = lw.Generator().manual_seed(3)
    batches = list(lm_batches(train.data, block_size=32, batch_size=6, generator=g, num_batches=4))
    assert len(batches) == 4
    data = train.data.numpy()
    for x, y in batches:
        assert isinstance(x, lw.Tensor) and x.dtype == lw.int64 and y.dtype == lw.int64
        assert x.shape == (6, 32) and y.shape == (6, 32)
        np.testing.assert_array_equal(y.numpy()[:, :-1], x.numpy()[:, 1:])    # y[:, t] = x[:, t+1]
        for row_x, row_y in zip(x.numpy(), y.numpy()):                       # real windows
            s = _find(data, row_x)
            np.testing.assert_array_equal(data[s + 1:s + 33], row_y)


def _find(data, row):
    """A start s with data[s : s + len(row)] == row (the window really is a piece of the text)."""
    cand = np.flatnonzero(data[:len(data) - len(row) + 1] == row[0])
    hits = cand[np.all(data[cand[:, None] + np.arange(len(row))] == row, axis=1)]
    assert hits.size, "window not found in the data"
    return int(hits[0])


def test_window_starts_cover_exactly_the_valid_range():
    data = np.arange(20)                           # token value = position
    batcher = LMBatcher(data, block_size=4, batch_size=50, generator=lw.Generator().manual_seed(0))
    starts = np.concatenate([batcher.sample()[0].numpy()[:, 0] for _ in range(20)])
    assert set(starts.tolist()) == set(range(16))              # 0 .. len − block_size − 1
    assert batcher.num_windows == 16
    x, y = LMBatcher(data, 19, 2)()                # the only window: the whole sequence
    np.testing.assert_array_equal(x.numpy(), [np.arange(19)] * 2)
    np.testing.assert_array_equal(y.numpy(), [np.arange(1, 20)] * 2)


def test_reproducible_by_seed_and_fixed_evaluation_set(val):
    def draw(seed):
        it = lm_batches(val, 8, 4, generator=lw.Generator().manual_seed(seed))
        return [next(it)[0].numpy() for _ in range(3)]
    a, b, c = draw(7), draw(7), draw(8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    e1 = fixed_batches(val.data, 8, 4, n_batches=5, seed=0)
    lw.manual_seed(123)                            # the global state does not matter
    lw.randn(10)
    e2 = fixed_batches(val.data, 8, 4, n_batches=5, seed=0)
    assert len(e1) == 5 and all(x.shape == (4, 8) for x, _ in e1)
    for (x1, y1), (x2, y2) in zip(e1, e2):
        np.testing.assert_array_equal(x1.numpy(), x2.numpy())
        np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    e3 = fixed_batches(val.data, 8, 4, n_batches=5, seed=1)
    assert not all(np.array_equal(p[0].numpy(), q[0].numpy()) for p, q in zip(e1, e3))
    # the default generator drives it without generator=, and follows lw.manual_seed
    lw.manual_seed(5)
    d1 = LMBatcher(val, 8, 4)()[0].numpy()
    lw.manual_seed(5)
    np.testing.assert_array_equal(LMBatcher(val, 8, 4)()[0].numpy(), d1)


def test_batcher_argument_errors():
    with pytest.raises(ValueError, match=r"a window needs block_size \+ 1 = 11 tokens, but the "
                                         r"data has only 10"):
        LMBatcher(np.arange(10), block_size=10, batch_size=2)
    with pytest.raises(ValueError, match="lm_batches|LMBatcher: block_size must be a positive int"):
        lm_batches(np.arange(10), block_size=0, batch_size=2)        # raised at the call
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 2.5"):
        LMBatcher(np.arange(10), 4, 2.5)
    with pytest.raises(ValueError, match=r"expected a 1-D sequence of integer token ids, got "
                                         r"float64 of shape \(10,\)"):
        LMBatcher(np.linspace(0, 1, 10), 4, 2)
    with pytest.raises(ValueError, match=r"got int64 of shape \(2, 5\)"):
        fixed_batches(np.zeros((2, 5), np.int64), 2, 2, n_batches=1)
    with pytest.raises(TypeError, match="generator must be a layerwise.Generator"):
        LMBatcher(np.arange(10), 4, 2, generator=np.random.default_rng(0))
