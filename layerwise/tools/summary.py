"""``lw.summary``: a table of a model's layers, output shapes and parameter counts (torchinfo-like).

It runs one forward pass on zeros of the given size with forward hooks on every
module, so the output shapes are the real ones.  Parameters are counted by
identity: a parameter shared by two layers (tied weights) is counted once, at
its first use, and marked where it is used again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import dtypes as _dt
from ..autograd import grad_mode
from ..tensor import Tensor


@dataclass
class LayerRow:
    name: str                   # dotted path in the model ('' for the root)
    type: str
    depth: int
    index: int                  # position among the parent's rows, torchinfo's "depth-idx"
    output_shapes: list = field(default_factory=list)
    params: int = 0             # parameters owned directly by this module and counted here
    trainable: int = 0
    tied: list = field(default_factory=list)   # names of parameters already counted elsewhere
    is_leaf: bool = True
    recursive: bool = False     # the same module object called again (its parameters counted before)


@dataclass
class ModelSummary:
    rows: list
    total_params: int
    trainable_params: int
    input_bytes: int
    param_bytes: int
    activation_bytes: int
    model_name: str

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    def __str__(self):
        def shape_text(r):
            if not r.output_shapes:
                return "--"
            s = ", ".join(str(list(sh)) for sh in r.output_shapes)
            return s if len(r.output_shapes) == 1 else f"({s})"

        def param_text(r):
            if r.recursive:
                return "(recursive)"
            if r.tied and not r.params:
                return "(tied)"
            if not r.params and not r.is_leaf:
                return "--"
            txt = f"{r.params:,}"
            return txt + (" (+tied)" if r.tied else "")

        cells = [("Layer (type:depth-idx)", "Output Shape", "Param #")]
        for r in self.rows:
            label = r.type if r.depth == 0 else ("│    " * (r.depth - 1) + "├─" + f"{r.type}: {r.depth}-{r.index}")
            cells.append((label, shape_text(r), param_text(r)))
        widths = [max(len(c[i]) for c in cells) + 2 for i in range(3)]
        width = sum(widths)
        line, thick = "-" * width, "=" * width
        out = [thick, "".join(c.ljust(w) for c, w in zip(cells[0], widths)), thick]
        out += ["".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
        mb = 1e6
        tied = [f"{r.name or r.type}: {', '.join(r.tied)}" for r in self.rows if r.tied]
        out += [thick,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}"]
        if tied:
            out.append("Tied parameters (counted once): " + "; ".join(tied))
        out += [line,
                f"Input size (MB): {self.input_bytes / mb:.2f}",
                f"Forward/backward pass size (MB): {self.activation_bytes / mb:.2f}",
                f"Params size (MB): {self.param_bytes / mb:.2f}",
                f"Estimated Total Size (MB): {(self.input_bytes + self.activation_bytes + self.param_bytes) / mb:.2f}",
                thick]
        return "\n".join(out)

    __repr__ = __str__


def _shapes(out):
    if isinstance(out, Tensor):
        return [tuple(out.shape)]
    if isinstance(out, (tuple, list)):
        return [s for o in out for s in _shapes(o)]
    if isinstance(out, dict):
        return [s for o in out.values() for s in _shapes(o)]
    return []


def _nbytes(out):
    if isinstance(out, Tensor):
        return out.array.nbytes
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    if isinstance(out, dict):
        return sum(_nbytes(o) for o in out.values())
    return 0


def _make_inputs(input_size, dtypes):
    """Zeros of ``input_size`` (a shape or a list of shapes), in ``dtypes`` (default float32)."""
    sizes = [input_size] if input_size and isinstance(input_size[0], int) else list(input_size)
    dtypes = list(dtypes) if dtypes is not None else [_dt.get_default_dtype()] * len(sizes)
    if len(dtypes) != len(sizes):
        raise ValueError(f"summary: {len(sizes)} input sizes but {len(dtypes)} dtypes")
    out = []
    for size, d in zip(sizes, dtypes):
        d = _dt.as_dtype(d)
        out.append(Tensor._wrap(np.zeros(tuple(size), d.np)))
    return out


def summary(model, input_size=None, input_data=None, dtypes=None, depth=10, verbose=1):
    """Run ``model`` once and return (and print, if ``verbose``) its layer table.

    ``input_size``: the shape of the input, batch included (``(1, 1, 28, 28)``), or a list of
    shapes for several inputs; ``dtypes``: their dtypes (integer inputs for Embedding, say).
    ``input_data``: real tensors instead (a Tensor or a tuple of them).
    """
    if input_data is not None:
        inputs = [input_data] if isinstance(input_data, Tensor) else list(input_data)
    elif input_size is not None:
        inputs = _make_inputs(input_size, dtypes)
    else:
        raise ValueError("summary: give input_size=(N, ...) or input_data=")

    names = {id(m): n for n, m in model.named_modules()}
    rows, stack, counted, handles, called = [], [], {}, [], set()
    child_counts = {}
    act_bytes = [0]

    def pre_hook(module, args):
        depth_ = len(stack)
        parent = stack[-1] if stack else None
        key = id(parent)
        child_counts[key] = child_counts.get(key, 0) + 1
        row = LayerRow(names.get(id(module), "?"), type(module).__name__, depth_,
                       child_counts[key], is_leaf=not any(True for _ in module.children()),
                       recursive=id(module) in called)
        called.add(id(module))
        for pname, p in module._parameters.items():
            if p is None:
                continue
            full = f"{row.name}.{pname}" if row.name else pname
            if id(p) in counted:
                if not row.recursive:
                    row.tied.append(f"{full} = {counted[id(p)]}")
                continue
            counted[id(p)] = full
            row.params += p.numel()
            row.trainable += p.numel() if p.requires_grad else 0
        rows.append(row)
        stack.append(row)

    def post_hook(module, args, out):
        row = stack.pop()
        row.output_shapes = _shapes(out)
        if row.is_leaf:
            act_bytes[0] += _nbytes(out)

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(post_hook))
    was_training = model.training
    try:
        model.eval()
        with grad_mode.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    unique = {id(p): p for p in model.parameters()}
    total = sum(p.numel() for p in unique.values())
    trainable = sum(p.numel() for p in unique.values() if p.requires_grad)
    result = ModelSummary(
        rows=[r for r in rows if r.depth <= depth], total_params=total, trainable_params=trainable,
        input_bytes=sum(t.array.nbytes for t in inputs),
        param_bytes=sum(p.array.nbytes for p in unique.values()),
        activation_bytes=2 * act_bytes[0],          # kept for backward as well as produced
        model_name=type(model).__name__)
    if verbose:
        print(result)
    return result
