"""DataLoader, samplers, datasets and collation — against torch.utils.data, plus exact resume."""
import collections
import copy
import json
import pickle

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import layerwise as lw
from layerwise.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                            RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler,
                            TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                            random_split)


def as_np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else x.numpy()


def assert_same(a, b):
    """A layerwise structure equals a torch one: containers, dtypes, shapes, values."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, lw.Tensor), type(a)
        assert a.dtype.name == str(b.dtype).replace("torch.", ""), (a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(as_np(a), as_np(b))
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in b:
            assert_same(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a).__name__ == type(b).__name__ and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert type(a) is type(b) and a == b, (a, b)


def pair_data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3, 2)).astype(np.float32)
    y = rng.integers(0, 5, n).astype(np.int64)
    return x, y


def both_tensor_datasets(n=10):
    x, y = pair_data(n)
    return (TensorDataset(lw.from_numpy(x), lw.from_numpy(y)),
            tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)))


# ---------------------------------------------------------------------- sequential parity
@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 1, False), (10, 3, False), (10, 3, True),
                                                    (10, 5, True), (10, 16, False), (10, 16, True),
                                                    (7, 7, False)])
def test_sequential_batches_match_torch(n, batch_size, drop_last):
    ours, theirs = both_tensor_datasets(n)
    a = list(DataLoader(ours, batch_size=batch_size, drop_last=drop_last))
    b = list(tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last))
    assert len(a) == len(b) == len(DataLoader(ours, batch_size=batch_size, drop_last=drop_last)) \
        == len(tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last))
    for x, y in zip(a, b):
        assert_same(x, y)


def test_default_batch_size_is_one_and_batch_size_none_disables_batching():
    ours, theirs = both_tensor_datasets(4)
    for a, b in zip(DataLoader(ours), tud.DataLoader(theirs)):
        assert_same(a, b)
        assert a[0].shape == (1, 3, 2)
    for a, b in zip(DataLoader(ours, batch_size=None), tud.DataLoader(theirs, batch_size=None)):
        assert_same(a, b)
        assert a[1].shape == ()


class ItemDataset(Dataset):
    """Items of mixed Python/NumPy kinds, to exercise default_collate through the loader."""

    def __init__(self, n=6):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return {"img": np.full((2, 2), i, dtype=np.uint8), "label": i % 3, "w": i / 4,
                "name": f"item{i}", "pair": (np.float32(i), [True, i % 2 == 0])}


def test_loader_with_python_items_matches_torch():
    class TorchItems(tud.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return ItemDataset()[i]

    a = list(DataLoader(ItemDataset(), batch_size=4))
    b = list(tud.DataLoader(TorchItems(), batch_size=4))
    assert len(a) == 2
    for x, y in zip(a, b):
        assert_same(x, y)
    assert a[0]["w"].dtype == lw.float64      # python floats collate to float64, as torch
    assert a[0]["label"].dtype == lw.int64
    assert a[0]["img"].dtype == lw.uint8 and a[0]["img"].shape == (4, 2, 2)


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("batch", [
    [1.5, 2.0, -3.25], [1, 2, 3], [True, False], [np.float32(1.5), np.float32(2)],
    [np.int32(3), np.int32(4)], [np.float64(0.1)], [np.zeros((2, 3), np.float64), np.ones((2, 3))],
    [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)], [("a", 1), ("b", 2)],
    [{"k": [1.0, 2]}, {"k": [3.0, 4]}], [Point(1, 2.5), Point(3, 4.5)], ["s", "t"],
    [[np.array([1, 2]), 3], [np.array([4, 5]), 6]],
])
def test_default_collate_matches_torch(batch):
    ours = default_collate(copy.deepcopy(batch))
    theirs = tud.default_collate(copy.deepcopy(batch))
    assert_same(ours, theirs)


def test_default_collate_of_tensors_and_errors():
    t = [lw.tensor([1.0, 2.0]), lw.tensor([3.0, 4.0])]
    out = default_collate(t)
    assert out.dtype == lw.float32 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


@pytest.mark.parametrize("item", [
    {"a": np.arange(3, dtype=np.int32), "b": [np.float32(2.5), "s"], "c": 1.5},
    (np.ones((2, 2)), 4), Point(np.zeros(1, np.uint8), 2), [np.array(["x"]), b"raw"],
])
def test_batching_off_converts_arrays_like_torch(item):
    assert_same(default_convert(copy.deepcopy(item)), tud.default_convert(copy.deepcopy(item)))

    class One(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return copy.deepcopy(item)

    assert_same(next(iter(DataLoader(One(), batch_size=None))), tud.default_convert(copy.deepcopy(item)))


def test_collating_tensors_that_require_grad_keeps_the_graph():
    w = lw.tensor([1.0, 2.0], requires_grad=True)
    ds = TensorDataset(w.reshape(2, 1) * 3)
    (batch,) = next(iter(DataLoader(ds, batch_size=2)))
    batch.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    stacked = default_collate([w * 2, w])
    stacked.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_custom_collate_fn_matches_torch():
    ours, theirs = both_tensor_datasets(7)

    def collate(items):   # sum of features per item, and the label list
        return [float(np.asarray(x).sum()) for x, _ in items], [int(y) for _, y in items]

    a = list(DataLoader(ours, batch_size=3, collate_fn=collate))
    b = list(tud.DataLoader(theirs, batch_size=3, collate_fn=collate))
    assert len(a) == 3
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_allclose(xa, xb, rtol=1e-6)
        assert ya == yb


def test_sampler_and_batch_sampler_arguments_match_torch():
    ours, theirs = both_tensor_datasets(9)
    order = [8, 0, 7, 1, 6, 2]
    for kw_a, kw_b in [
        (dict(sampler=order, batch_size=4), dict(sampler=order, batch_size=4)),
        (dict(batch_sampler=[[3, 1], [0], [8, 8, 2]]), dict(batch_sampler=[[3, 1], [0], [8, 8, 2]])),
        (dict(batch_sampler=BatchSampler(SequentialSampler(ours), 4, True)),
         dict(batch_sampler=tud.BatchSampler(tud.SequentialSampler(theirs), 4, True))),
    ]:
        a, b = list(DataLoader(ours, **kw_a)), list(tud.DataLoader(theirs, **kw_b))
        assert len(a) == len(b) > 0 and len(DataLoader(ours, **kw_a)) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)


def test_argument_errors():
    ds, _ = both_tensor_datasets(4)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="non-negative"):
        DataLoader(ds, num_workers=-1)


# ---------------------------------------------------------------------- shuffling
def epoch_labels(loader):
    return np.concatenate([yb.numpy() for _, yb in loader]).tolist()


def index_dataset(n):
    return TensorDataset(lw.arange(n).reshape(n, 1).float(), lw.arange(n))


def test_shuffle_is_a_reproducible_permutation_that_changes_per_epoch():
    ds = index_dataset(50)
    g1, g2 = lw.Generator().manual_seed(7), lw.Generator().manual_seed(7)
    a = DataLoader(ds, batch_size=8, shuffle=True, generator=g1)
    b = DataLoader(ds, batch_size=8, shuffle=True, generator=g2)
    e1, e2 = epoch_labels(a), epoch_labels(a)
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert e1 != list(range(50)) and e1 != e2
    assert epoch_labels(b) == e1 and epoch_labels(b) == e2
    c = DataLoader(ds, batch_size=8, shuffle=True, generator=lw.Generator().manual_seed(8))
    assert epoch_labels(c) != e1
    # default generator: lw.manual_seed makes it reproducible
    lw.manual_seed(3)
    d1 = epoch_labels(DataLoader(ds, batch_size=8, shuffle=True))
    lw.manual_seed(3)
    assert epoch_labels(DataLoader(ds, batch_size=8, shuffle=True)) == d1
    # the batch contents are the items at those indices
    for xb, yb in DataLoader(ds, batch_size=8, shuffle=True):
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy().astype(np.float32))


def test_shuffle_drop_last_and_len():
    ds = index_dataset(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True, drop_last=True,
                        generator=lw.Generator().manual_seed(0))
    batches = [yb.numpy() for _, yb in loader]
    assert len(loader) == len(batches) == 4 and all(len(b) == 5 for b in batches)
    seen = np.concatenate(batches)
    assert len(set(seen.tolist())) == 20 and seen.max() < 23


def test_random_sampler_options():
    ds = list(range(10))
    g = lw.Generator().manual_seed(1)
    s = RandomSampler(ds, num_samples=25, generator=g)
    out = list(s)
    assert len(s) == len(out) == 25
    assert sorted(out[:10]) == list(range(10)) and sorted(out[10:20]) == list(range(10))
    assert len(set(out[20:])) == 5
    r = list(RandomSampler(ds, replacement=True, num_samples=200, generator=g))
    assert len(r) == 200 and set(r) == set(range(10))         # with replacement: repeats
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(ds, num_samples=0)
    sub = list(SubsetRandomSampler([5, 6, 7, 100], generator=g))
    assert sorted(sub) == [5, 6, 7, 100]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400, generator=g))
    assert set(w) == {1, 3} and 0.65 < w.count(3) / 400 < 0.85


# ---------------------------------------------------------------------- datasets
def test_random_split_lengths_match_torch_and_partition():
    for n, lengths in [(10, [3, 7]), (10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.2, 0.2, 0.6]),
                       (100, [0.33, 0.33, 0.34])]:
        ours = random_split(list(range(n)), lengths, generator=lw.Generator().manual_seed(0))
        theirs = tud.random_split(list(range(n)), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        items = sorted(i for s in ours for i in s)
        assert items == list(range(n))
    a = random_split(list(range(20)), [0.5, 0.5], generator=lw.Generator().manual_seed(4))
    b = random_split(list(range(20)), [0.5, 0.5], generator=lw.Generator().manual_seed(4))
    assert list(a[0]) == list(b[0]) and list(a[0]) != list(range(10))
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(list(range(5)), [2, 2])


def test_subset_concat_and_tensor_dataset_match_torch():
    ours, theirs = both_tensor_datasets(6)
    assert_same(list(Subset(ours, [4, 1])[1]), list(tud.Subset(theirs, [4, 1])[1]))
    c_ours = ConcatDataset([ours, Subset(ours, [0, 2])])
    c_theirs = tud.ConcatDataset([theirs, tud.Subset(theirs, [0, 2])])
    assert len(c_ours) == len(c_theirs) == 8 and c_ours.cumulative_sizes == c_theirs.cumulative_sizes
    for i in (0, 5, 6, 7, -1, -8):
        assert_same(list(c_ours[i]), list(c_theirs[i]))
    assert len(ours + ours) == 12
    with pytest.raises(IndexError):
        c_ours[8]
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(lw.zeros(3, 2), lw.zeros(4))
    # the loader's whole-batch path over a Subset equals item-by-item collation
    sub = Subset(ours, [5, 3, 3, 0])
    fast = next(iter(DataLoader(sub, batch_size=4)))
    slow = default_collate([sub[i] for i in range(4)])
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype
        np.testing.assert_array_equal(f.numpy(), s.numpy())


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(np.arange(self.n, dtype=np.float32).reshape(self.n, 1))

    def __len__(self):
        return self.n


class TorchStream(tud.IterableDataset):
    def __iter__(self):
        return iter(np.arange(7, dtype=np.float32).reshape(7, 1))


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_batches_match_torch(drop_last):
    a = list(DataLoader(Stream(7), batch_size=3, drop_last=drop_last))
    b = list(tud.DataLoader(TorchStream(), batch_size=3, drop_last=drop_last))
    assert len(a) == len(b) == len(DataLoader(Stream(7), batch_size=3, drop_last=drop_last))
    for x, y in zip(a, b):
        assert_same(x, y)
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


# ---------------------------------------------------------------------- exact resume
def run_epochs(loader, epochs):
    return [[[t.numpy().copy() for t in batch] for batch in loader] for _ in range(epochs)]


def flat(epochs):
    return [t for epoch in epochs for batch in epoch for t in batch]


def assert_runs_equal(a, b):
    a, b = flat(a), flat(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def interrupted_run(make_loader, epochs, stop_epoch, stop_batch, extra_state=None):
    """Run until ``stop_batch`` batches of epoch ``stop_epoch`` were consumed, checkpoint (through
    JSON, as a file would), then continue with a freshly built loader."""
    loader = make_loader()
    done = run_epochs(loader, stop_epoch)
    it = iter(loader)
    partial = [[t.numpy().copy() for t in next(it)] for _ in range(stop_batch)]
    state = json.loads(json.dumps(loader.state_dict()))
    extra = extra_state() if extra_state else None
    for _ in range(3):                       # whatever happens after the checkpoint is lost
        lw.rand(5)
        list(loader)
    fresh = make_loader()
    fresh.load_state_dict(state)
    if extra_state:
        lw.set_rng_state(extra)
    rest_of_epoch = [[t.numpy().copy() for t in batch] for batch in fresh]
    return done + [partial + rest_of_epoch] + run_epochs(fresh, epochs - stop_epoch - 1)


@pytest.mark.parametrize("stop_epoch,stop_batch", [(0, 0), (0, 3), (1, 2), (1, 6), (2, 1)])
def test_resume_mid_epoch_with_generator_equals_uninterrupted(stop_epoch, stop_batch):
    ds = index_dataset(27)

    def make():
        return DataLoader(ds, batch_size=4, shuffle=True, generator=lw.Generator().manual_seed(11))

    full = run_epochs(make(), 4)
    assert_runs_equal(interrupted_run(make, 4, stop_epoch, stop_batch), full)


def test_resume_with_default_generator_and_global_rng_state():
    ds = index_dataset(19)

    def make():
        return DataLoader(ds, batch_size=5, shuffle=True, drop_last=True)

    lw.manual_seed(5)
    full = run_epochs(make(), 3)
    lw.manual_seed(5)
    resumed = interrupted_run(make, 3, 1, 2, extra_state=lw.get_rng_state)
    assert_runs_equal(resumed, full)


class CountingDataset(Dataset):
    def __init__(self, n):
        self.n, self.calls = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.array([i], dtype=np.int64)


class EveryOtherSampler(Sampler):
    """A user-written sampler with its own randomness (numpy, not checkpointed by the loader)."""

    def __init__(self, n, seed):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n)[::2].tolist())

    def __len__(self):
        return (self.n + 1) // 2


def test_resume_skips_without_loading_and_restores_custom_sampler_order():
    ds = CountingDataset(20)
    loader = DataLoader(ds, batch_size=3, sampler=EveryOtherSampler(20, 0))
    it = iter(loader)
    first = [next(it).numpy().ravel().tolist() for _ in range(2)]
    state = pickle.loads(pickle.dumps(loader.state_dict()))
    rest = [b.numpy().ravel().tolist() for b in it]
    assert state["batches_yielded"] == 2 and [len(b) for b in state["epoch"]["order"]] == [3, 3, 3, 1]
    fresh_ds = CountingDataset(20)
    fresh = DataLoader(fresh_ds, batch_size=3, sampler=EveryOtherSampler(20, 99))
    fresh.load_state_dict(state)
    resumed = [b.numpy().ravel().tolist() for b in fresh]
    assert resumed == rest and len(first + rest) == 4
    assert fresh_ds.calls == sum(len(b) for b in rest)       # the skipped batches were not loaded


def test_state_between_epochs_and_after_the_last_batch():
    ds = index_dataset(8)
    g = lw.Generator().manual_seed(2)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
    assert loader.state_dict()["epoch"] is None
    it = iter(loader)
    next(it), next(it)                      # all batches taken, StopIteration not yet seen
    state = loader.state_dict()
    assert state["epoch"] is None and state["batches_yielded"] == 0
    after = epoch_labels(loader)
    fresh = DataLoader(ds, batch_size=4, shuffle=True, generator=lw.Generator().manual_seed(0))
    fresh.load_state_dict(state)
    assert epoch_labels(fresh) == after
    # state_dict right after load_state_dict round-trips the pending position
    it = iter(loader)
    next(it)
    mid = loader.state_dict()
    fresh.load_state_dict(mid)
    assert fresh.state_dict() == mid and mid["batches_yielded"] == 1


def test_resume_samplers_given_directly_and_iterable_dataset():
    ds = index_dataset(30)
    makers = [
        lambda: DataLoader(ds, batch_size=4, sampler=SubsetRandomSampler(
            list(range(0, 30, 2)), generator=lw.Generator().manual_seed(1))),
        lambda: DataLoader(ds, batch_sampler=BatchSampler(WeightedRandomSampler(
            np.arange(30.0), 17, generator=lw.Generator().manual_seed(1)), 5, False)),
        lambda: DataLoader(ds, batch_size=7),
    ]
    for make in makers:
        assert_runs_equal(interrupted_run(make, 3, 1, 2), run_epochs(make(), 3))

    def make_stream():
        return DataLoader(Stream(11), batch_size=3)
    assert_runs_equal(interrupted_run(make_stream, 2, 0, 2), run_epochs(make_stream(), 2))


def test_load_state_dict_refuses_a_different_loader():
    g = lw.Generator().manual_seed(0)
    loader = DataLoader(index_dataset(10), batch_size=3, shuffle=True, generator=g)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    with pytest.raises(ValueError, match="saved epoch had 4 batches, this loader's epoch has 3"):
        DataLoader(index_dataset(9), batch_size=3, shuffle=True,
                   generator=lw.Generator()).load_state_dict(state)
    with pytest.raises(ValueError, match="explicit generator but this one has none"):
        DataLoader(index_dataset(10), batch_size=3, shuffle=True).load_state_dict(state)
    with pytest.raises(ValueError, match="expected a dict made by DataLoader.state_dict"):
        loader.load_state_dict({"epoch": None})
