"""Checkpoints: ``save``/``load`` as atomic, verified safetensors files; ``load`` also reads
``torch.save`` files without importing torch; training checkpoints that resume exactly.
See docs/checkpoints.md."""
from .checkpoint import load, save
from .errors import CheckpointError
from .training import load_training_checkpoint, save_training_checkpoint

__all__ = ["save", "load", "CheckpointError", "save_training_checkpoint", "load_training_checkpoint"]
