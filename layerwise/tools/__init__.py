"""Tools around the layers: model summary, progress bars (plots and logging join later)."""
from .summary import ModelSummary, summary
from .progress import Progress, progress
