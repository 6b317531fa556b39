"""DataLoader: batches from a dataset, with an exactly resumable position.

``DataLoader`` follows torch.utils.data.DataLoader's signature and behaviour
(sampler / batch_sampler / shuffle / drop_last / collate_fn / generator, ``len``,
``batch_size=None`` to turn batching off, ``num_workers`` worker processes with
``worker_init_fn``, ``prefetch_factor``, ``persistent_workers``, ``timeout``,
``multiprocessing_context`` and ``get_worker_info()``: see ``_workers``).  The pinning
options are accepted and have no effect (there is no GPU), and the loader can save and
restore its position.  The batches and their order do not depend on ``num_workers``.

Resumable position
------------------
``loader.state_dict()`` describes where the loader stands, as a small dict of plain
Python values (it pickles and JSON-encodes):

* ``epoch``: ``None`` between epochs, else the record of the epoch in progress: the
  epoch seed its random sampler drew (``{"seed": s}``), ``{}`` for sequential order,
  or the epoch's full list of indices/batches for a user-written sampler;
* ``batches_yielded``: how many batches of that epoch were already handed out;
* ``generator``: the state, *at the time of the call*, of the explicit generator that
  drives shuffling (``DataLoader(generator=g)`` or a sampler's ``generator=``), else
  ``None``.

``loader.load_state_dict(state)`` restores the generator at once and makes the *next*
``iter(loader)`` continue the saved epoch at batch ``batches_yielded`` (the skipped
batches are not loaded); later epochs then follow exactly as they would have.  What
the loader does not own, the checkpoint must save too: the global generator
(``lw.get_rng_state()``) when no ``generator=`` was given, and the generators of
random transforms.  ``state_dict()`` describes the most recently created iterator.
"""
from __future__ import annotations

import collections.abc as cabc
import itertools
import numbers

import numpy as np

from ..tensor import Tensor
from . import _workers
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert"]

_STATE_FORMAT = "layerwise.data.DataLoader/1"


# ---------------------------------------------------------------------- collation
def _bad_type(x):
    return TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                     f"or lists; found {getattr(x, 'dtype', type(x))}")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_arrays(arrays, what):
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(f"default_collate: stack expects each {what} to be equal size, but "
                               f"got {tuple(first)} at entry 0 and {tuple(a.shape)} at entry {i}")
    return np.stack(arrays)


def default_collate(batch):
    """Merge a list of samples into a batch, as torch's ``default_collate``.

    * Tensors and NumPy arrays are stacked along a new first dimension into a Tensor
      of the same dtype; NumPy scalars become a 1-D Tensor of their dtype.
    * Python ``bool`` → bool, ``int`` → int64 and ``float`` → **float64** Tensors.  That
      last one is torch's rule (its default_collate builds ``float`` batches as float64,
      not the default float32), kept so results and dtypes match torch; cast with
      ``.float()`` when a float32 target is needed.
    * ``str``/``bytes`` are left as a sequence; dicts, namedtuples, tuples and lists are
      collated field by field (a tuple sample gives a list, as torch).
    """
    if not isinstance(batch, (list, tuple)) or len(batch) == 0:
        raise TypeError(f"default_collate expects a non-empty list of samples, got {batch!r}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            from .. import stack
            return stack(list(batch))
        return Tensor._wrap(_stack_arrays([t.array for t in batch], "tensor"))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SUaOV":
            raise _bad_type(elem)
        return Tensor._wrap(_stack_arrays([np.asarray(a) for a in batch], "array"))
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "SUaOV":
            raise _bad_type(elem)
        return Tensor._wrap(np.array(batch, dtype=elem.dtype))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        n = len(elem)
        if any(len(e) != n for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        cols = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return cols
        try:
            return type(elem)(cols)
        except TypeError:
            return cols
    raise _bad_type(elem)


def default_convert(data):
    """Turn NumPy arrays (and NumPy scalars) inside ``data`` into Tensors, recursively; the
    collate function used when batching is off (``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in "SUaOV":
            return data
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, cabc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, cabc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


# ---------------------------------------------------------------------- the loader
class _Progress:
    """Where the latest iterator stands: its epoch record and batches handed out."""

    __slots__ = ("record", "yielded", "total", "finished")

    def __init__(self, record, yielded, total):
        self.record, self.yielded, self.total = record, yielded, total
        self.finished = total is not None and yielded >= total


class DataLoader:
    """Iterate over ``dataset`` in batches (torch.utils.data.DataLoader's API, in-process).

    ``shuffle=True`` uses ``RandomSampler(dataset, generator=generator)``: a fresh
    permutation each epoch, reproducible from ``generator`` (or ``lw.manual_seed`` when
    ``generator`` is None).  See the module docstring for ``state_dict()`` /
    ``load_state_dict()``, which make a mid-epoch checkpoint resume bit for bit.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int)
                                            or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor should be a positive integer, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if isinstance(multiprocessing_context, str):
            import multiprocessing
            methods = multiprocessing.get_all_start_methods()
            if multiprocessing_context not in methods:
                raise ValueError(f"multiprocessing_context option should specify a valid start "
                                 f"method in {methods!r}, but got "
                                 f"multiprocessing_context={multiprocessing_context!r}")

        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.generator = generator

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                     "shuffle, sampler, and drop_last")
                batch_size, drop_last = None, False
            elif batch_size is None and drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

        self._progress: _Progress | None = None     # the latest iterator's position
        self._resume: tuple | None = None           # (record, batches) waiting for iter()
        self._pool = None                           # the workers kept by persistent_workers

    # ------------------------------------------------------------------ structure
    @property
    def _auto_collation(self) -> bool:
        return self.batch_size is not None if self._iterable else self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    # ------------------------------------------------------------------ iteration
    def _new_epoch(self):
        """A record that pins down the next epoch's order (drawing its randomness now)."""
        if self._iterable:
            return {}
        src = self._index_sampler
        if getattr(src, "_lw_resumable", None) is not None and src._lw_resumable():
            return src._lw_new_epoch()
        return {"order": list(src)}       # a user-written sampler: remember the order itself

    def _epoch_iter(self, record):
        if self._iterable:
            it = iter(self.dataset)
            if self.batch_size is None:
                return it
            return _batched(it, self.batch_size, self.drop_last)
        if "order" in record:
            return iter(record["order"])
        return self._index_sampler._lw_epoch_iter(record)

    def _epoch_total(self, record):
        if "order" in record:
            return len(record["order"])
        try:
            return len(self)
        except TypeError:
            return None

    def _fetcher(self):
        return _Fetcher(self._iterable, self._auto_collation, self.collate_fn, self.batch_size,
                        self.drop_last)

    def __iter__(self):
        if self._resume is not None:
            record, skip = self._resume
            self._resume = None
        else:
            record, skip = self._new_epoch(), 0
        progress = _Progress(record, skip, self._epoch_total(record))
        self._progress = progress
        return self._generate(progress)

    def _batches(self, progress):
        """The epoch's batches (after the ``progress.yielded`` already handed out)."""
        fetch = self._fetcher()
        pool = self._worker_pool(fetch) if self.num_workers else None
        if pool is not None and self._iterable:
            # every worker iterates its own copy of the dataset: skip whole batches
            batches = itertools.islice(_workers.stream_batches(pool, self.prefetch_factor),
                                       progress.yielded, None)
        else:
            # the sampler runs here; skipped items are never loaded
            items = itertools.islice(self._epoch_iter(progress.record), progress.yielded, None)
            batches = ((fetch(self.dataset, item) for item in items) if pool is None
                       else _workers.ordered_batches(pool, items, self.prefetch_factor))
        if pool is None or self.persistent_workers:
            return batches
        return _closing(batches, pool)

    def _worker_pool(self, fetch):
        """The workers for an epoch: the kept ones with ``persistent_workers``, else new ones
        (seeded from a base seed drawn from the default generator)."""
        if self._pool is not None and not self._pool.closed:
            return self._pool
        from ..random import default_generator
        pool = _workers.WorkerPool(self, fetch, int(default_generator.np.integers(0, 2 ** 62)))
        if self.persistent_workers:
            self._pool = pool
        return pool

    def _generate(self, progress):
        for batch in self._batches(progress):
            progress.yielded += 1
            if progress.total is not None and progress.yielded >= progress.total:
                progress.finished = True
            yield batch
        progress.finished = True

    # ------------------------------------------------------------------ checkpointing
    def _shuffle_generator(self):
        if self._iterable:
            return None
        src = self._index_sampler
        get = getattr(src, "_lw_generator", None)
        return get() if get is not None and src._lw_resumable() else None

    def state_dict(self) -> dict:
        """The loader's position: the epoch in progress, batches already yielded, and the
        shuffling generator's state (see the module docstring)."""
        if self._resume is not None:
            record, yielded = self._resume
        elif self._progress is not None and not self._progress.finished:
            record, yielded = self._progress.record, self._progress.yielded
        else:
            record, yielded = None, 0
        gen = self._shuffle_generator()
        return {"format": _STATE_FORMAT,
                "epoch": None if record is None else _plain(record),
                "batches_yielded": int(yielded),
                "generator": None if gen is None else gen.get_state(),
                "num_batches": self._epoch_total(record) if record is not None else None}

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by ``state_dict()``: the next ``iter(self)`` continues the
        saved epoch after its ``batches_yielded`` batches."""
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise ValueError(f"DataLoader.load_state_dict: expected a dict made by "
                             f"DataLoader.state_dict() (format {_STATE_FORMAT!r}), got "
                             f"{state if not isinstance(state, dict) else state.get('format')!r}")
        gen = self._shuffle_generator()
        saved_gen = state["generator"]
        if (gen is None) != (saved_gen is None):
            raise ValueError("DataLoader.load_state_dict: the saved loader "
                             + ("shuffled with an explicit generator but this one has none"
                                if gen is None else "had no explicit shuffling generator but this "
                                "one has one") + "; build the loader the way it was built when saved")
        record = state["epoch"]
        if record is not None:
            total = self._epoch_total(record)
            if state.get("num_batches") is not None and total != state["num_batches"]:
                raise ValueError(f"DataLoader.load_state_dict: the saved epoch had "
                                 f"{state['num_batches']} batches, this loader's epoch has {total} "
                                 f"(different dataset size, batch_size or drop_last?)")
        if gen is not None:
            gen.set_state(saved_gen)
        self._progress = None
        self._resume = None if record is None else (record, int(state["batches_yielded"]))


class _Fetcher:
    """Turns one item of the sampler's output into a batch: ``dataset[i]`` for its indices,
    then ``collate_fn`` (a separate object so that worker processes can receive it)."""

    def __init__(self, iterable, auto_collation, collate_fn, batch_size, drop_last):
        self.iterable, self.auto_collation = iterable, auto_collation
        self.collate_fn, self.batch_size, self.drop_last = collate_fn, batch_size, drop_last

    def __call__(self, ds, index):
        if self.iterable:
            return self.collate_fn(index)
        if not self.auto_collation:
            return self.collate_fn(ds[index])
        if self.collate_fn is default_collate and hasattr(ds, "_lw_batch"):
            return ds._lw_batch(index)
        if hasattr(ds, "__getitems__"):
            return self.collate_fn(ds.__getitems__(index))
        return self.collate_fn([ds[i] for i in index])

    def stream(self, ds):
        """An IterableDataset's batches (inside a worker, from its own copy of ``ds``)."""
        it = iter(ds)
        if self.batch_size is not None:
            it = _batched(it, self.batch_size, self.drop_last)
        return (self.collate_fn(item) for item in it)


def _closing(batches, pool):
    """Yield from ``batches``, shutting the workers down when the epoch ends or is abandoned."""
    try:
        yield from batches
    finally:
        pool.close()


def _plain(x):
    """A copy of a record made of plain Python values (so a checkpoint never aliases it)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.integer, Tensor)):
        return int(x)
    return x


def _batched(it, size, drop_last):
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk or (drop_last and len(chunk) < size):
            return
        yield chunk
