"""The zip layer of a ``torch.save`` file: find its folder, and read its members with every size
the archive declares checked against what the file holds.

A zip's central directory declares each member's sizes; a crafted one can declare gigabytes in
a file of a few hundred bytes, and ``zipfile`` allocates what a read asks for before it finds
the data missing.  Here a member is read only after its data is known to lie inside the file:
a stored member's bytes are exactly its declared size, and a deflated member expands at most
``MAX_DEFLATE_RATIO`` times (deflate's own limit), so memory stays bounded per byte of file.
Storages are read straight into the array that will hold them (no intermediate copy), or with
``mmap=True`` viewed in a copy-on-write map of the file, and their CRC-32 is checked either way.
"""
from __future__ import annotations

import struct
import zipfile
import zlib

import numpy as np

from .errors import CheckpointError

MAX_DEFLATE_RATIO = 1032          # deflate cannot expand data more than this
_LOCAL_HEADER = struct.Struct("<4s22xHH")     # signature ... name length, extra length
_CHUNK = 16 * 2**20


class Archive:
    """An open ``torch.save`` archive: ``folder``, ``read(name)`` for small records and
    ``storage(key, nbytes)`` for the raw bytes of a storage."""

    def __init__(self, zf: zipfile.ZipFile, f, size: int, source, mmap: bool = False):
        self.zf, self.f, self.size, self.source, self.mmap = zf, f, size, source, mmap
        self.folder = find_folder(zf, source)
        self._map = None

    def fail(self, problem):
        raise CheckpointError(self.source, problem)

    def has(self, name) -> bool:
        return f"{self.folder}/{name}" in self.zf.NameToInfo

    def _info(self, member):
        try:
            return self.zf.getinfo(member)
        except KeyError:
            return None

    def _data_start(self, info) -> int:
        """Where ``info``'s data begins, after checking that all of it lies inside the file."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            self.fail(f"archive member '{info.filename}' uses zip compression method "
                      f"{info.compress_type}; torch archives store or deflate their members")
        self.f.seek(info.header_offset)
        header = self.f.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            self.fail(f"archive member '{info.filename}' has no local header (file damaged)")
        name_len, extra_len = _LOCAL_HEADER.unpack(header)[1:]
        start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        if start + info.compress_size > self.size:
            self.fail(f"archive member '{info.filename}' claims {info.compress_size} bytes but "
                      f"the file ends {max(self.size - start, 0)} bytes after its header "
                      "(truncated or crafted)")
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.file_size != info.compress_size) or \
                info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 64:
            self.fail(f"archive member '{info.filename}' claims to expand {info.compress_size} "
                      f"bytes into {info.file_size}, more than its compression can")
        return start

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of the record ``<folder>/<name>`` (at most ``limit`` of them)."""
        info = self._info(f"{self.folder}/{name}")
        if info is None:
            self.fail(f"archive has no '{self.folder}/{name}'")
        self._data_start(info)
        if limit is not None and info.file_size > limit:
            self.fail(f"archive record '{info.filename}' is {info.file_size} bytes, more than "
                      f"the {limit} it can hold")
        return self.zf.read(info)

    def storage(self, key: str, numel: int, itemsize: int) -> np.ndarray:
        """The raw bytes of storage ``key``, which the pickle says holds ``numel`` elements of
        ``itemsize`` bytes, as a flat uint8 array."""
        member = f"{self.folder}/data/{key}"
        info = self._info(member)
        if info is None:
            self.fail(f"storage '{key}' is missing from the archive (no '{member}')")
        start = self._data_start(info)
        nbytes = numel * itemsize
        if info.file_size != nbytes:
            self.fail(f"storage '{key}' holds {info.file_size} bytes but the pickle says "
                      f"{numel} elements of {itemsize} bytes")
        if info.compress_type != zipfile.ZIP_STORED:
            raw = self._inflate(info)
        elif self.mmap and nbytes:
            raw = self._mapped()[start:start + nbytes]
        else:
            raw = np.empty(nbytes, np.uint8)
            self.f.seek(start)
            self._fill(raw, f"storage '{key}'")
        if info.compress_type == zipfile.ZIP_STORED and zlib.crc32(raw) != info.CRC:
            self.fail(f"storage '{key}' is damaged: its CRC-32 does not match the archive's")
        return raw

    def _fill(self, raw, what):
        view, got = memoryview(raw), 0
        while got < raw.size:
            n = self.f.readinto(view[got:])
            if not n:
                self.fail(f"{what} ended early (archive truncated?)")
            got += n

    def _inflate(self, info) -> np.ndarray:
        """A deflated member, decompressed in bounded chunks (zipfile checks its CRC)."""
        raw = np.empty(info.file_size, np.uint8)
        view, got = memoryview(raw), 0
        with self.zf.open(info) as m:
            while got < raw.size:
                n = m.readinto(view[got:got + _CHUNK])
                if not n:
                    self.fail(f"archive member '{info.filename}' ended early (damaged?)")
                got += n
            if m.read(1):
                self.fail(f"archive member '{info.filename}' is longer than it claims")
        return raw

    def _mapped(self) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(self.f, dtype=np.uint8, mode="c", shape=(self.size,)) \
                .view(np.ndarray)
        return self._map


def find_folder(zf: zipfile.ZipFile, source) -> str:
    """The archive's one top-level folder holding ``data.pkl``."""
    names = zf.namelist()
    if any(n.endswith("/constants.pkl") and n.count("/") == 1 for n in names):
        raise CheckpointError(source, "this is a TorchScript archive (torch.jit.save), not a "
                                      "torch.save file; save the model's state_dict() instead")
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) == 1:
        return pkl[0][: -len("/data.pkl")]
    if len(pkl) > 1:
        raise CheckpointError(source, "zip archive holds several top-level folders with a "
                                      "data.pkl: " + ", ".join(pkl))
    raise CheckpointError(source, "zip archive has no '<folder>/data.pkl': not a file written by "
                                  "torch.save")
