"""The files and folders a command is given, checked before any work starts."""
from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import UserError


def output_folder(option, path):
    """The folder ``path`` (given as ``option``), created if needed and checked to be writable;
    UserError naming the option when it cannot be (a file, under a file, read-only)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {path}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UserError(f"{option} {path}: cannot write there ({e.strerror or e})") from None
    return folder


def existing_file(option, path, what="checkpoint"):
    """``path`` as a Path; UserError naming ``option`` when it is not a file."""
    if not Path(path).is_file():
        raise UserError(f"{option + ' ' if option else ''}{path}: no such {what} file")
    return Path(path)


def first_line(error):
    """An exception's message up to its first line break (details follow on later lines)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
