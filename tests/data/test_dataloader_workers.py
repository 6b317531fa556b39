"""DataLoader with worker processes: same batches as in-process, torch's seeding, worker info,
iterable datasets, errors, persistence and resuming."""
import os
import random

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info


def labels(loader):
    return [yb.tolist() for _, yb in loader]


def dataset(n=37):
    return TensorDataset(lw.arange(n).reshape(n, 1).float(), lw.arange(n))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_batches_and_order_do_not_depend_on_num_workers(workers):
    ds = dataset()
    ref = DataLoader(ds, batch_size=5, shuffle=True, generator=lw.Generator().manual_seed(4))
    par = DataLoader(ds, batch_size=5, shuffle=True, generator=lw.Generator().manual_seed(4),
                     num_workers=workers, prefetch_factor=1 + workers % 2)
    for _ in range(2):                                # two epochs: fresh permutations, equal
        assert labels(par) == labels(ref)
    unbatched = DataLoader(ds, batch_size=None, num_workers=workers)
    assert [y.item() for _, y in unbatched] == list(range(37))


class WhoLoads(Dataset):
    """Each item: its index, the loading worker's id and seed, and three random draws."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([i, info.id, info.num_workers, info.seed % 1000, os.getpid(),
                         lw.rand(1).item(), random.random(), np.random.random()])


def test_workers_are_seeded_per_worker_and_reproducibly():
    lw.manual_seed(11)
    a = np.concatenate([b.numpy() for b in DataLoader(WhoLoads(), batch_size=2, num_workers=3)])
    lw.manual_seed(11)
    b = np.concatenate([b.numpy() for b in DataLoader(WhoLoads(), batch_size=2, num_workers=3)])
    assert get_worker_info() is None                          # not in a worker
    assert a[:, 0].tolist() == list(range(12))
    assert a[:, 1].tolist() == [0, 0, 1, 1, 2, 2] * 2         # batch k goes to worker k % 3
    assert set(a[:, 2]) == {3} and len(set(a[:, 4])) == 3 and os.getpid() not in a[:, 4]
    np.testing.assert_array_equal(a[:, [0, 1, 2, 3, 5, 6, 7]], b[:, [0, 1, 2, 3, 5, 6, 7]])
    first = {w: a[a[:, 1] == w][0, 5:] for w in range(3)}     # each worker's first draws
    assert len({tuple(v) for v in first.values()}) == 3        # differ between workers
    seeds = {w: a[a[:, 1] == w][0, 3] for w in range(3)}
    assert (seeds[1] - seeds[0]) % 1000 == 1 and (seeds[2] - seeds[0]) % 1000 == 2


def test_worker_init_fn_runs_in_each_worker_after_seeding():
    def init(worker_id):
        np.random.seed(100 + worker_id)

    class Draw(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.float64(np.random.random())

    got = [b.item() for b in DataLoader(Draw(), batch_size=1, num_workers=2, worker_init_fn=init)]
    assert got[0] == np.random.RandomState(100).random_sample()
    assert got[1] == np.random.RandomState(101).random_sample()


class Shards(IterableDataset):
    def __init__(self, n, split=True):
        self.n, self.split = n, split

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.split:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_iterable_datasets_are_iterated_by_every_worker_in_turn():
    got = [b.tolist() for b in DataLoader(Shards(11), batch_size=2, num_workers=2)]
    assert got == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9]]
    dup = sorted(DataLoader(Shards(5, split=False), batch_size=None, num_workers=2))
    assert dup == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]          # unsplit: each worker yields it all


class Broken(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 4:
            raise KeyError("no item 4 here")
        return np.float32(i)


def test_an_exception_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(Broken(), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match=r"Caught KeyError in DataLoader worker process 0") as e:
        list(loader)
    assert "no item 4 here" in str(e.value) and "__getitem__" in str(e.value)


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import time
        time.sleep(2)
        return np.float32(i)


def test_timeout_and_dead_workers_raise():
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.5))

    class Dies(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            os._exit(3)

    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), num_workers=1))


def test_persistent_workers_survive_epochs_and_others_do_not():
    class Pid(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.int64(os.getpid())

    keep = DataLoader(Pid(), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = [b.tolist() for b in keep], [b.tolist() for b in keep]
    assert first == second
    fresh = DataLoader(Pid(), batch_size=2, num_workers=2)
    assert [b.tolist() for b in fresh] != [b.tolist() for b in fresh]


def test_resuming_mid_epoch_with_workers_continues_the_same_batches():
    ds = dataset(40)
    ref = DataLoader(ds, batch_size=6, shuffle=True, generator=lw.Generator().manual_seed(9))
    whole = labels(ref)
    run = DataLoader(ds, batch_size=6, shuffle=True, generator=lw.Generator().manual_seed(9),
                     num_workers=2)
    it = iter(run)
    head = [next(it)[1].tolist() for _ in range(3)]
    state = run.state_dict()
    again = DataLoader(ds, batch_size=6, shuffle=True, generator=lw.Generator().manual_seed(0),
                       num_workers=2)
    again.load_state_dict(state)
    assert head + labels(again) == whole


def test_worker_option_errors_match_torch():
    ds = dataset(4)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="multiprocessing_context option should specify a valid"):
        DataLoader(ds, num_workers=1, multiprocessing_context="teleport")
    assert DataLoader(ds, num_workers=2).prefetch_factor == 2


def test_spawn_context_works_with_picklable_datasets():
    loader = DataLoader(dataset(10), batch_size=4, num_workers=2, multiprocessing_context="spawn")
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_abandoning_an_epoch_lets_the_workers_exit_cleanly():
    # Workers hold prefetched batches nobody will read; they must still exit on request
    # (exit code 0), not hang on their result queue until they are killed (-15).
    class Big(Dataset):                       # 400 KB batches: more than a pipe buffers
        def __len__(self):
            return 40

        def __getitem__(self, i):
            return np.zeros(50_000, np.float32)

    loader = DataLoader(Big(), batch_size=2, num_workers=2, prefetch_factor=4,
                        persistent_workers=True)
    for _ in loader:
        break
    pool = loader._pool
    pool.close()
    assert [p.exitcode for p in pool.procs] == [0, 0]


class RaisesUnpicklable(Dataset):
    """Raises an exception whose class is defined inside __getitem__: it cannot be pickled."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        class LocalError(Exception):
            pass
        raise LocalError(f"item {i} is cursed")


def test_an_exception_that_cannot_be_pickled_is_raised_as_text_naming_the_worker():
    # before, the worker's queue feeder failed to pickle it and the main process waited for
    # ever; the timeout here only bounds the test, should that ever come back
    loader = DataLoader(RaisesUnpicklable(), batch_size=2, num_workers=1, timeout=10)
    with pytest.raises(RuntimeError, match=r"Caught .*LocalError in DataLoader worker process "
                                           r"0") as e:
        list(loader)
    assert "item 0 is cursed" in str(e.value) and "__getitem__" in str(e.value)


class Hangs(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        import time
        if i >= 2:                          # the second batch, worker 1's, never comes
            time.sleep(3600)
        return np.float32(i)


def test_a_timeout_names_the_worker_it_waited_for():
    loader = DataLoader(Hangs(), batch_size=2, num_workers=2, timeout=0.5)
    it = iter(loader)
    assert next(it).tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds waiting for "
                                           r"worker 1 \(pid \d+\) to return a batch"):
        next(it)
