"""Random number generation: ``Generator`` and the default generator behind ``manual_seed``.

layerwise cannot reproduce torch's random stream; it promises reproducibility of
its own: the same seed gives the same numbers, and a generator's state can be
saved and restored (for checkpoints that resume exactly).
"""
from __future__ import annotations

import numpy as np


class Generator:
    """A seeded source of randomness (PCG64), like ``torch.Generator``."""

    def __init__(self, device="cpu"):
        from .device import device as _device
        self.device = _device(device)
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        if not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: expected an int seed, got {seed!r}")
        self._seed = int(seed) % (2 ** 64)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The full state (a JSON-friendly dict) for checkpointing."""
        return {"seed": self._seed, "bit_generator": self.np.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self._seed = int(state["seed"])
        bg = np.random.PCG64()
        bg.state = state["bit_generator"]
        self.np = np.random.Generator(bg)


default_generator = Generator()
default_generator.manual_seed(0x5EED)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (all random ops without ``generator=`` draw from it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def get_generator(generator=None) -> np.random.Generator:
    return (generator or default_generator).np
