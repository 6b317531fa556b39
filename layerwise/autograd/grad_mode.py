"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The flag is process-global (as torch's is per thread); train/eval is a
separate, per-Module flag.
"""
from __future__ import annotations

import functools

_enabled = True


def is_grad_enabled() -> bool:
    return _enabled


class _GradMode:
    """Context manager and decorator (``@no_grad()`` or ``@no_grad``) that sets the grad mode
    and restores it."""

    mode = True

    def __new__(cls, *args):
        self = super().__new__(cls)
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return self(args[0])                # used as a bare decorator: @no_grad
        return self

    def __init__(self, *args):
        pass

    def __enter__(self):
        global _enabled
        self._prev = _enabled
        _enabled = self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside run without recording a graph (inference, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """Re-enables graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` acts like ``no_grad()``; usable as a function too."""

    def __init__(self, mode: bool):
        global _enabled
        self.mode = bool(mode)
        self._prev = _enabled
        _enabled = self.mode       # takes effect at once, as in torch

    def __enter__(self):
        pass

    def __call__(self, func):
        """As a decorator: undo the immediate switch; the mode applies inside ``func`` only."""
        global _enabled
        _enabled = self._prev
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)
        return wrapper

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False
