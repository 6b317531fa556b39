"""How the models report a checkpoint they cannot use: io's ``CheckpointError``, naming the file."""
from __future__ import annotations

from ..io import CheckpointError

# What restoring from a readable but unsuitable file raises: load_state_dict's RuntimeError for
# missing or misshapen weights, KeyError/TypeError/ValueError for a damaged structure.
UNFIT = (KeyError, RuntimeError, TypeError, ValueError)


def unfit(path, what, error):
    """A CheckpointError for ``path`` saying ``what`` is wrong, with the first detail of
    ``error`` (load_state_dict puts its details on the lines after a summary line)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = " ".join(lines[:2]) if lines else type(error).__name__
    return CheckpointError(path, f"{what}: {detail}")
