"""The one error type of ``layerwise.io``."""
from __future__ import annotations


class CheckpointError(ValueError):
    """A checkpoint file is damaged, is not a checkpoint, or holds something layerwise refuses
    to load.  The message names the file and what is wrong with it."""

    def __init__(self, source, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")
