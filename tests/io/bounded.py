"""Helpers for the hostile-input tests: run a load in a child process under an address-space
limit and measure its peak memory; build small crafted torch archives opcode by opcode.

``run_bounded(code, budget_mb)`` imports layerwise in a fresh interpreter, then caps its
address space (``RLIMIT_AS``) at what it already uses plus ``budget_mb``, resets the peak-RSS
mark and runs ``code``.  It returns what happened: the exception type and message (if any),
``result`` (whatever ``code`` stored in the variable ``result``, made printable) and
``peak_mb``, the growth of the peak resident set over the run.  An allocation beyond the
budget fails in the child (``MemoryError``) instead of taking the machine's memory.
"""
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_CHILD = r"""
import json, resource, sys, traceback

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)

import numpy as np
import layerwise as lw
from layerwise.io import CheckpointError, load, save
setup, code, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
namespace = {"lw": lw, "np": np, "load": load, "save": save, "CheckpointError": CheckpointError}
exec(setup, namespace)
limit = status("VmSize") + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")                                   # reset VmHWM, the peak resident set
base = status("VmRSS")
out = {"error": None, "message": None, "result": None}
try:
    exec(code, namespace)
    out["result"] = repr(namespace.get("result"))
except BaseException as e:
    out["error"], out["message"] = type(e).__name__, str(e)
out["peak_mb"] = (status("VmHWM") - base) / 2**20
print(json.dumps(out))
"""


def run_bounded(code, budget_mb, setup="", timeout=120):
    """Run ``code`` in a child under an address-space limit of ``budget_mb`` MiB beyond what
    importing layerwise and running ``setup`` (unlimited) took."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, setup, code, str(budget_mb * 2**20)],
                          cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- crafted pickles
def op(name, payload=b""):
    return getattr(pickle, name) + payload


def pstr(s):
    data = s.encode()
    return op("BINUNICODE", struct.pack("<I", len(data)) + data)


def pint(v):
    return op("BININT", struct.pack("<i", v)) if -2**31 <= v < 2**31 else \
        op("LONG1", bytes([len(v.to_bytes(9, "little", signed=True))]) + v.to_bytes(9, "little", signed=True))


def ptuple(*items):
    return op("MARK") + b"".join(items) + op("TUPLE")


def pglobal(module, name):
    return op("GLOBAL", f"{module}\n{name}\n".encode())


def storage(key, numel, storage_class="FloatStorage"):
    """The persistent id torch writes for a storage: ('storage', torch.<class>, key, 'cpu', n)."""
    return ptuple(pstr("storage"), pglobal("torch", storage_class), pstr(key), pstr("cpu"),
                  pint(numel)) + op("BINPERSID")


def rebuild_tensor(storage_pickle, offset, size, stride):
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``."""
    return (pglobal("torch._utils", "_rebuild_tensor_v2")
            + ptuple(storage_pickle, pint(offset), ptuple(*map(pint, size)),
                     ptuple(*map(pint, stride)), op("NEWFALSE"),
                     pglobal("collections", "OrderedDict") + op("EMPTY_TUPLE") + op("REDUCE"))
            + op("REDUCE"))


def pdict(*pairs):
    return op("EMPTY_DICT") + op("MARK") + b"".join(k + v for k, v in pairs) + op("SETITEMS")


def program(*parts):
    return op("PROTO", b"\x02") + b"".join(parts) + op("STOP")


def torch_zip(path, pickle_bytes, storages=(), folder="archive"):
    """A torch.save-style archive: ``<folder>/data.pkl`` and ``<folder>/data/<key>``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", pickle_bytes)
        z.writestr(f"{folder}/byteorder", "little")
        for key, raw in storages:
            z.writestr(f"{folder}/data/{key}", raw)
        z.writestr(f"{folder}/version", "3\n")
    return path


def patch_member_sizes(path, member, compress_size=None, file_size=None):
    """Rewrite the sizes the central directory declares for ``member`` (what a crafted archive
    lies about), leaving the data as it is."""
    data = bytearray(open(path, "rb").read())
    name = member.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == name:
            if compress_size is not None:
                struct.pack_into("<I", data, pos + 20, compress_size)
            if file_size is not None:
                struct.pack_into("<I", data, pos + 24, file_size)
            open(path, "wb").write(bytes(data))
            return path
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise KeyError(member)
