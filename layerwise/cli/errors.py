"""The CLI's one error type: a mistake in how the command was called."""
from __future__ import annotations


class UserError(Exception):
    """A mistake in how the command was called; printed as one sentence, exit status 2.

    Only the CLI raises it: the models and the library below raise ordinary exceptions
    (``ValueError``, ``FileNotFoundError``, io's ``CheckpointError``), which the commands turn
    into a UserError where the mistake is the user's (a bad file, a missing folder)."""
