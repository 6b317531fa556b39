"""Optimizers with torch.optim's API and numerics: ``Optimizer``, ``SGD``, ``Adam``, ``AdamW``."""
from .optimizer import Optimizer, required
from .sgd import SGD
from .adam import Adam, AdamW

__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW"]
