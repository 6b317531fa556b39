"""Finite-difference gradient check in float64, along random directions.

For a scalar probe L(x) = ⟨w, f(x)⟩ with a random weight w, the analytic
directional derivative ⟨∇L, v⟩ from backward must equal the central
difference (L(x + εv) − L(x − εv)) / 2ε along a random direction v.  One pair
of extra forwards per direction instead of one per element keeps it fast.
Feed inputs away from kinks and ties (relu at 0, max ties): there the
finite difference is meaningless.
"""
from __future__ import annotations

from ..backend import asarray, get_array_module, host


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-7, rtol=1e-5, n_directions=3, seed=0,
              raise_exception=True, params=()):
    """Check ``func``'s backward against central differences; return True or raise.

    ``inputs``: a Tensor or a tuple of Tensors; the float64 ones with
    ``requires_grad=True`` are checked, as are the Tensors in ``params``
    (e.g. ``model.parameters()`` of a float64 model).
    """
    from .. import no_grad
    from ..tensor import Tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [t for t in list(inputs) + list(params) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for t in checked:
        if t.array.dtype != host.float64:
            raise ValueError(f"gradcheck: inputs must be float64 for a meaningful finite "
                             f"difference, got {t.dtype} for a tensor of shape {tuple(t.shape)}")
    rng = host.random.default_rng(seed)        # drawn on the host, moved to each array's device

    def draw(like):
        return asarray(rng.standard_normal(like.shape), xp=get_array_module(like))

    def outputs():
        out = func(*inputs)
        return [o for o in (out if isinstance(out, (tuple, list)) else (out,))
                if isinstance(o, Tensor) and o.is_floating_point()]

    outs = outputs()
    weights = [draw(o.array) for o in outs]

    def probe():
        with no_grad():
            return sum(float((o.array * w).sum()) for o, w in zip(outputs(), weights))

    for t in checked:
        t.grad = None
    total = None
    for o, w in zip(outs, weights):
        if o.requires_grad:
            term = (o * Tensor._wrap(w)).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("gradcheck: no output depends on the inputs")
    total.backward()
    analytic = [t.grad.array.copy() if t.grad is not None else get_array_module(t.array).zeros_like(t.array)
                for t in checked]

    for _ in range(n_directions):
        dirs = [draw(t.array) for t in checked]
        expected = sum(float((a * d).sum()) for a, d in zip(analytic, dirs))
        originals = [t.array.copy() for t in checked]
        for t, d in zip(checked, dirs):
            t.array[...] = t.array + eps * d
        plus = probe()
        for t, o, d in zip(checked, originals, dirs):
            t.array[...] = o - eps * d
        minus = probe()
        for t, o in zip(checked, originals):
            t.array[...] = o
        numeric = (plus - minus) / (2 * eps)
        if not abs(numeric - expected) <= atol + rtol * max(abs(numeric), abs(expected)):
            if raise_exception:
                raise AssertionError(f"gradcheck failed: directional derivative from backward "
                                     f"{expected:.10g} != finite difference {numeric:.10g}")
            return False
    return True
