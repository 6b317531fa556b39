"""Atomic file replacement: a save either completes or leaves the previous file untouched.

``atomic_write(path, write)`` has ``write`` fill a temporary file in the folder of the file
``path`` names, flushes and fsyncs it, renames it onto that file and fsyncs the folder.  A
symbolic link is written through, as ``open(path, 'wb')`` (and so ``torch.save``) would: the
file the link points to is replaced and the link stays a link.  Errors name ``path``, the file
the caller asked for, never the temporary file.
"""
from __future__ import annotations

import os
import secrets


def _fsync_directory(directory: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return               # platforms where a directory cannot be opened (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass                 # some file systems refuse fsync on directories
    finally:
        os.close(fd)


def _named_after(error: OSError, path: str) -> OSError:
    """``error`` as raised for ``path``: the temporary file's name is replaced by ``path``."""
    error.filename, error.filename2 = path, None
    return error


def temporary_name(target: str) -> str:
    """The temporary file a save of ``target`` writes first: ``.<name>.<pid>.<random>.tmp``
    in the same folder, so that the final rename stays on one file system."""
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _create(tmp: str, target: str) -> int:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        os.chmod(tmp, os.stat(target).st_mode & 0o7777)    # keep the old file's permissions
    except OSError:
        pass
    return fd


def atomic_write(path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file next to the file ``path`` names, flush
    and fsync it, then rename it onto that file and fsync the folder.  If anything fails the
    temporary file is removed and whatever was at ``path`` before is untouched."""
    path = os.fspath(path)
    target = os.path.realpath(path)         # write through symbolic links, as open() does
    if os.path.isdir(target):
        raise IsADirectoryError(21, "Is a directory", path)
    tmp = temporary_name(target)
    try:
        fd = _create(tmp, target)
    except OSError as e:
        raise _named_after(e, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fd = None
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename is not None:
            raise _named_after(e, path) from None
        raise
    _fsync_directory(os.path.dirname(target))
