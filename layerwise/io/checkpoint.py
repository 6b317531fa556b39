"""``save(obj, f)`` / ``load(f)``: checkpoints as single safetensors files, written atomically
and verified when read; ``load`` also reads ``torch.save`` files without torch.

The tensors of ``obj`` go into the safetensors tensor table; everything else goes as typed JSON
(``structure.py``) into the header metadata under the key ``"layerwise"``.  A flat
``{str: Tensor}`` state dict keeps its keys as the tensor names, so
``safetensors.torch.load_file`` reads it as an ordinary state dict.  See docs/checkpoints.md
and, for what a hostile file can and cannot do, docs/security.md.
"""
from __future__ import annotations

import io
import os

from . import safetensors_format as _sf
from . import structure as _structure
from . import torch_pickle as _tp
from . import torch_writer as _tw
from .atomic import atomic_write  # noqa: F401  (re-exported: tools and tests use it from here)
from .errors import CheckpointError

STRUCTURE_KEY = "layerwise"
FORMAT_VERSION = _structure.FORMAT_VERSION

# Called with the number of tensor bytes written so far after each chunk of a save (progress
# reporting; the tests use it to stall a writer and kill it mid-write).
_on_chunk = None


def _load_safetensors(f, size, source, mmap):
    arrays, metadata = _sf.read(f, size, source, mmap=mmap)
    text = metadata.get(STRUCTURE_KEY)
    if text is None:           # a file from another writer: a flat state dict
        return {name: _structure.host_to_tensor(arr, name, source) for name, arr in arrays.items()}
    return _structure.decode(text, arrays, source)


# ====================================================================== public API
_TORCH_SUFFIXES = (".pt", ".pth")


def _writer(obj, f, format):
    """``write(binary_file)`` for ``obj`` in ``format``, after refusing what cannot be saved
    (so that a refusal never touches ``f``)."""
    if format is None:
        path = None if hasattr(f, "write") else os.fspath(f)
        format = "torch" if path is not None and path.lower().endswith(_TORCH_SUFFIXES) \
            else "safetensors"
    if format == "torch":
        plan = _tw.plan(obj)

        def write(fh):
            _tw.write(plan, fh, on_chunk=_on_chunk)
    elif format == "safetensors":
        arrays, text = _structure.encode(obj)
        metadata = {"format": "pt", STRUCTURE_KEY: text}

        def write(fh):
            _sf.write(fh, arrays, metadata, on_chunk=_on_chunk)
    else:
        raise ValueError(f"save: format must be 'safetensors' or 'torch', got {format!r}")
    return write


def save(obj, f, format=None) -> None:
    """Save ``obj`` (any nesting of dict/list/tuple/str/int/float/bool/None/bytes/dtype/Tensor/
    ndarray) to ``f``, a path or a writable binary file object, as one safetensors file.

    ``format='torch'`` writes the ``torch.save`` zip format instead, which ``torch.load``
    reads directly (dicts, lists, tuples, str, int, float, bool, None and tensors only); it is
    the default for a path ending in ``.pt`` or ``.pth``.  ``format='safetensors'`` forces
    safetensors.

    Saving to a path is atomic: the file at ``f`` is either the complete new checkpoint or,
    whatever happens during the save (an exception, a full disk, the process killed), the
    previous one.  A path that is a symbolic link is written through, as ``torch.save``
    does: the file it points to is replaced."""
    write = _writer(obj, f, format)
    if hasattr(f, "write"):
        write(f)
    else:
        atomic_write(f, write)


def _source_name(f):
    if hasattr(f, "read"):
        return getattr(f, "name", None) or repr(f)
    return os.fspath(f)


def _load_stream(fh, size, source, mmap):
    head = fh.read(9)
    fh.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _tp.load(fh, source, size=size, mmap=mmap)
    # safetensors first: its 8-byte header length may itself start with 0x80 (a length of
    # 128, 384, ...), which would otherwise look like a pickle's protocol opcode.
    if size >= 9 and head[8:9] == b"{":
        return _load_safetensors(fh, size, source, mmap)
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        raise CheckpointError(source, "this is a legacy (pre-1.6, non-zip) torch.save file, which "
                                      "layerwise does not read; re-save it with a current torch")
    if size < 9:
        raise CheckpointError(source, f"file is {size} bytes long, too short to be a checkpoint")
    raise CheckpointError(source, "not a checkpoint: neither a safetensors file (8-byte header "
                                  "length then '{') nor a torch.save zip archive; it starts with "
                                  f"{head[:9]!r}")


def _has_fileno(f) -> bool:
    try:
        f.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _load_file_object(f, source, mmap):
    if mmap and not (_has_fileno(f) and f.seekable() and f.tell() == 0):
        raise ValueError(f"load: mmap=True maps a file on disk; {source} is not one opened at "
                         "its start (pass its path, or load without mmap)")
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    if start:
        f = io.BytesIO(f.read())
    return _load_stream(f, size, source, mmap)


def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Load a checkpoint written by :func:`save`, by the ``safetensors`` library, or by
    ``torch.save`` (zip format), from a path or a readable binary file object.

    The file's structure is verified (and its checksums, when it has them) before anything is
    returned; a damaged or foreign file raises :class:`CheckpointError` naming the file and the
    problem.  Tensors come back as layerwise Tensors on the CPU.  ``mmap=True`` maps the
    tensors' bytes from the file instead of reading them into memory, as ``torch.load`` does:
    the tensors are copy-on-write views of the file (writes change the tensor, never the
    file).  ``map_location`` and ``weights_only`` exist for torch compatibility: layerwise
    has only the CPU and never unpickles arbitrary objects."""
    from ..device import as_device, device
    if isinstance(map_location, (str, device)):
        as_device(map_location)              # 'cpu' is fine; 'cuda' raises as everywhere
    source, mmap = _source_name(f), bool(mmap)
    if hasattr(f, "read"):
        return _load_file_object(f, source, mmap)
    with open(source, "rb") as fh:
        return _load_stream(fh, os.fstat(fh.fileno()).st_size, source, mmap)
