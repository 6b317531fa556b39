"""Ordered hook registries with removable handles (``torch.utils.hooks.RemovableHandle``),
shared by modules and optimizers."""
from __future__ import annotations

import collections
import itertools


class _HookDict(collections.OrderedDict):
    """Hooks by id; the handle's remove() deletes the entry."""

    _ids = itertools.count()

    def add(self, hook, prepend=False):
        key = next(self._ids)
        self[key] = hook
        if prepend:
            self.move_to_end(key, last=False)
        return _Handle(self, key)


class _Handle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
