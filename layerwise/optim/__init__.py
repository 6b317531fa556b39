"""Optimizers with torch.optim's API and numerics: ``Optimizer``, ``SGD``, ``Adam``, ``AdamW``,
``RMSprop``, ``Adagrad``; learning-rate schedules in ``layerwise.optim.lr_scheduler``."""
from .optimizer import Optimizer, required
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from . import lr_scheduler

__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
