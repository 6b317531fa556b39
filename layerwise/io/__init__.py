"""Checkpoints: ``save``/``load`` as atomic, verified safetensors files; ``load`` also reads
``torch.save`` files without importing torch.  See docs/checkpoints.md."""
from .checkpoint import load, save
from .errors import CheckpointError

__all__ = ["save", "load", "CheckpointError"]
