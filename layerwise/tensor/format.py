"""Printing tensors as torch does: ``tensor([1.0000, 2.5000], requires_grad=True)``.

The rules (torch's): floats get 4 decimals, or none ("3.") when every shown value is
integral, or scientific notation when the magnitudes span more than 10³; every element is
padded to the widest; ``dtype=``, ``grad_fn=`` and ``requires_grad=`` follow when they are not
the defaults, on a new line when the line would pass 80 characters.

Printing is host work: the values are brought to the host (``backend.to_numpy``) and laid
out by NumPy's ``array2string`` with torch's number format.
"""
from __future__ import annotations

from .. import dtypes as _dt
from ..backend import host, to_numpy


def _float_formatter(a):
    """torch's float printing rule: integral values as "3.", else 4 decimals; scientific
    notation (4 decimals) when max/min of the non-zero magnitudes > 1000, max > 1e8, or (for
    non-integral values) min < 1e-4.  Every element is padded to the widest one."""
    vals = a[host.isfinite(a) & (a != 0)].astype(_dt.float64.np)
    finite = host.abs(vals)
    integral = bool(host.all(vals == host.ceil(vals)))
    sci = False
    if finite.size:
        lo, hi = finite.min(), finite.max()
        sci = hi / lo > 1000.0 or hi > 1e8 or (not integral and lo < 1e-4)

    def fmt(v):
        if not host.isfinite(v):
            return str(v)                     # nan, inf, -inf
        if sci:
            return f"{v:.4e}"
        return f"{v:.0f}." if integral else f"{v:.4f}"
    width = max((len(fmt(v)) for v in vals), default=0)     # as torch: finite non-zeros only
    return lambda v: fmt(v).rjust(width)


def format_tensor(t) -> str:
    """The repr of a Tensor, as torch prints it."""
    a = to_numpy(t.array)
    prefix = "tensor("
    if a.dtype.kind == "f" and a.size:
        shown = a
        if a.size > 1000:           # the width only depends on the elements that are printed
            shown = host.concatenate([a.reshape(-1)[:3], a.reshape(-1)[-3:]])
        opts = {"formatter": {"float_kind": _float_formatter(shown)}}
        if a.ndim == 0:
            return _add_suffixes(prefix + opts["formatter"]["float_kind"](a.item()).strip(), t)
        body = host.array2string(a, separator=", ", prefix=prefix, threshold=1000, edgeitems=3,
                               max_line_width=80, **opts)
    else:
        body = host.array2string(a, separator=", ", prefix=prefix, threshold=1000, edgeitems=3,
                               max_line_width=80)
    if a.size == 0:
        body = "[]"
    return _add_suffixes(prefix + body, t)


def _add_suffixes(text: str, t) -> str:
    """Append ", dtype=..." etc. as torch does: on a new line when the last one would pass 80."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in _extras(t):
        if last + len(suffix) + 2 > 80:
            parts.append(",\n" + " " * len("tensor(") + suffix)
            last = len("tensor(") + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"


def _extras(t) -> list:
    a = t.array
    extras = []
    if a.size == 0 and a.ndim != 1:
        extras.append(f"size={tuple(a.shape)}")
    default = {"f": _dt.get_default_dtype().np, "i": _dt.int64.np, "b": _dt.bool_.np}
    if a.dtype != default.get(a.dtype.kind):
        extras.append(f"dtype={t.dtype!r}")
    if t._node is not None:
        extras.append(f"grad_fn={t._node!r}")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return extras
