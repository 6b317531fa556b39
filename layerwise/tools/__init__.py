"""Tools around the layers: model summary, progress bars, training loop, metrics logs,
TensorBoard files and plots (the last two load matplotlib/tensorboard only when used)."""
from .summary import ModelSummary, summary
from .progress import Progress, progress
from .metrics import MetricsLog, read_metrics
from .grad_recorder import HiddenGradRecorder, record_hidden_grads

# matplotlib and tensorboard are optional extras: these load on first use, never on import.
_LAZY = {"SummaryWriter": ("tensorboard", "SummaryWriter"), "plots": ("plots", None),
         "tensorboard": ("tensorboard", None)}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    module, attr = _LAZY[name]
    mod = importlib.import_module(f"{__name__}.{module}")
    return mod if attr is None else getattr(mod, attr)
