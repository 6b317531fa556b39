"""DataLoader worker processes (``num_workers > 0``), with torch's semantics.

The main process decides *what* each batch is (the sampler runs there, so the order, the
shuffling generator and the resumable position are the same as with ``num_workers=0``); the
workers only *load* batches: ``dataset[i]`` for the batch's indices, then ``collate_fn``.

    main:    index → task queue of worker (task % W)         (round robin, ≤ prefetch·W in flight)
    worker:  task → fetch(index) → result queue
    main:    results reordered by task number, yielded in sampler order

An ``IterableDataset`` is instead iterated by every worker on its own copy (as in torch: use
``get_worker_info()`` inside ``__iter__`` to split the data between workers, or each worker
yields all of it); the main process takes one batch from each worker in turn.

Each worker seeds layerwise's default generator, Python's ``random`` and NumPy's global
generator from ``base_seed + worker_id`` (``base_seed`` drawn per epoch from the loader's
generator, or from the default generator), so random transforms differ between workers and
repeat from run to run.  ``worker_init_fn(worker_id)`` runs after the seeding.  An exception
in a worker is raised again in the main process, naming the worker and carrying its traceback:
it travels as text, with its class only when the class pickles (a class defined inside a
function does not; the main process then raises RuntimeError naming it), so an exception that
cannot cross the process boundary never leaves the main process waiting.  ``timeout`` bounds
each wait and its error names the worker waited for; with ``timeout=0`` (the default, as in
torch) a worker that never returns is waited for forever.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import queue
import random
import traceback

import numpy as np

_POLL_SECONDS = 1.0          # how often a waiting main process checks that its workers live
_worker_info = None


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """In a DataLoader worker: its ``WorkerInfo`` (id, num_workers, seed, dataset, the
    worker's own copy); in the main process: None."""
    return _worker_info


class _StopMarker:
    """Sent by a worker whose IterableDataset is exhausted."""


def _picklable(cls):
    try:
        pickle.dumps(cls)
        return True
    except Exception:              # noqa: BLE001 — PicklingError, AttributeError, TypeError...
        return False


class _WorkerError:
    """An exception raised in a worker, carried to the main process as text: its class name,
    its traceback, and the class itself only when the class pickles (the queue's feeder thread
    would otherwise fail to send the error, and the main process would wait for it forever)."""

    def __init__(self, worker_id, exc):
        self.worker_id = worker_id
        self.type_name = type(exc).__qualname__
        self.exc_type = type(exc) if _picklable(type(exc)) else None
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        msg = (f"Caught {self.type_name} in DataLoader worker process {self.worker_id}.\n"
               f"Original Traceback (most recent call last):\n{self.text}")
        if self.exc_type is None:  # a class that cannot be pickled, so not rebuilt here
            raise RuntimeError(msg)
        try:
            err = self.exc_type(msg)
        except Exception:          # an exception type whose constructor wants other arguments
            err = RuntimeError(msg)
        raise err


def _worker_loop(fetch, dataset, tasks, results, worker_id, num_workers, seed, init_fn):
    global _worker_info
    from .. import random as lw_random
    # Exit without waiting for the main process to read every prefetched batch (it stops
    # reading when an epoch is abandoned): a queue's feeder would otherwise block the exit.
    results.cancel_join_thread()
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    lw_random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([seed % 2 ** 64, worker_id]).generate_state(1)[0])
    try:
        if init_fn is not None:
            init_fn(worker_id)
        stream = fetch.stream(dataset) if fetch.iterable else None
    except Exception as e:                       # noqa: BLE001 — reported to the main process
        results.put((None, _WorkerError(worker_id, e)))
        return
    while True:
        task = tasks.get()
        if task is None:                         # shut down
            return
        task_id, index = task
        try:
            if stream is not None:
                try:
                    out = next(stream)
                except StopIteration:
                    out = _StopMarker()
            else:
                out = fetch(dataset, index)
        except Exception as e:                   # noqa: BLE001
            out = _WorkerError(worker_id, e)
        results.put((task_id, out))


class WorkerPool:
    """``num_workers`` processes loading batches for one loader (for one epoch, or for all
    epochs with ``persistent_workers``)."""

    def __init__(self, loader, fetch, base_seed):
        ctx = loader.multiprocessing_context
        if ctx is None or isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.n = loader.num_workers
        self.timeout = loader.timeout
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(self.n)]
        self.procs = []
        for i in range(self.n):
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(fetch, loader.dataset, self.tasks[i], self.results, i, self.n,
                                  base_seed + i, loader.worker_init_fn))
            p.start()
            self.procs.append(p)
        self.closed = False

    def send(self, worker, task_id, index):
        self.tasks[worker].put((task_id, index))

    def receive(self, waiting_for=None):
        """The next (task_id, result) from any worker; raises if a worker died, or if none
        answered within ``timeout`` (naming ``waiting_for``, the worker whose batch is due)."""
        waited = 0.0
        while True:
            step = _POLL_SECONDS if not self.timeout else min(_POLL_SECONDS, self.timeout - waited)
            try:
                task_id, out = self.results.get(timeout=max(step, 1e-3))
            except queue.Empty:
                waited += step
                dead = [p for p in self.procs if not p.is_alive()]
                if dead:
                    self.close(force=True)
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(str(p.pid) for p in dead)}) "
                                       f"exited unexpectedly with exit code "
                                       f"{dead[0].exitcode}") from None
                if self.timeout and waited >= self.timeout:
                    who = self._describe(waiting_for)
                    self.close(force=True)
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       f"waiting for {who}") from None
                continue
            if isinstance(out, _WorkerError):
                self.close(force=True)
                out.reraise()
            return task_id, out

    def _describe(self, worker):
        if worker is None:
            return "a batch from its workers"
        return f"worker {worker} (pid {self.procs[worker].pid}) to return a batch"

    def close(self, force=False):
        """Stop the workers: ask them to finish (or, with ``force``, after an error, end them
        at once) and release the queues."""
        if self.closed:
            return
        self.closed = True
        for q in self.tasks:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            if force and p.is_alive():
                p.terminate()
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        for q in (*self.tasks, self.results):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 — interpreter shutdown
            pass


def ordered_batches(pool, indices, prefetch):
    """Map-style: yield the batches of ``indices`` (an iterator of sampler output) in order,
    keeping up to ``prefetch`` tasks per worker in flight."""
    pending = {}
    sent = received = 0
    indices = iter(indices)
    exhausted = False

    def fill():
        nonlocal sent, exhausted
        while not exhausted and sent - received < prefetch * pool.n:
            try:
                index = next(indices)
            except StopIteration:
                exhausted = True
                return
            pool.send(sent % pool.n, sent, index)
            sent += 1

    fill()
    while received < sent:
        while received not in pending:
            task_id, out = pool.receive(waiting_for=received % pool.n)
            pending[task_id] = out
        batch = pending.pop(received)
        received += 1
        fill()
        yield batch


def stream_batches(pool, prefetch):
    """Iterable-style: one batch from each live worker in turn until all are exhausted."""
    inflight = {}                 # task id -> worker, in the order the tasks were sent
    task = 0
    for _ in range(prefetch):
        for w in range(pool.n):
            pool.send(w, task, None)
            inflight[task] = w
            task += 1
    pending = {}
    while inflight:
        nxt = next(iter(inflight))
        while nxt not in pending:
            task_id, out = pool.receive(waiting_for=inflight[nxt])
            pending[task_id] = out
        out = pending.pop(nxt)
        w = inflight.pop(nxt)
        if isinstance(out, _StopMarker):      # that worker's data is exhausted: ask it no more
            continue
        pool.send(w, task, None)
        inflight[task] = w
        task += 1
        yield out
