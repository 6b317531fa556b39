"""Shared by the optimizer tests: a fixed gradient sequence fed to layerwise and torch alike,
and comparisons of their parameters and state."""
import numpy as np
import torch

import layerwise as lw
from parity import assert_close

NP = {"float32": np.float32, "float64": np.float64}
TOL = {"float32": 1e-5, "float64": 1e-10}
SHAPES = [(4, 3), (5,), ()]
STEPS = 100


def _init(shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, s) for s in shapes]


def grad_sequence(shapes=SHAPES, steps=STEPS, seed=1, mean=0.0):
    """A fixed gradient sequence whose scale shrinks over time (so running averages, AMSGrad's
    max and centered variance estimates change character during the run)."""
    rng = np.random.default_rng(seed)
    return [[rng.normal(mean, 2.0 * 0.96 ** t + 0.05, s) for s in shapes] for t in range(steps)]


def _params(init, dtype):
    lw_ps = [lw.nn.Parameter(a.astype(NP[dtype])) for a in init]
    th_ps = [torch.tensor(a.astype(NP[dtype]), requires_grad=True) for a in init]
    return lw_ps, th_ps


def _set_grads(lw_ps, th_ps, grads, dtype=None):
    """The same gradients into both, in ``dtype`` (default: each parameter's own dtype)."""
    for p, q, g in zip(lw_ps, th_ps, grads):
        g = g.astype(NP[dtype] if dtype else p.array.dtype)
        p.grad = lw.tensor(g)
        q.grad = torch.tensor(g)


def _compare_params(lw_ps, th_ps, dtype, what):
    """float64: each parameter relative to its own scale.  float32: relative to the scale of the
    whole parameter vector, since a small (e.g. 0-d) parameter passing near zero carries the
    float32 rounding of the O(1) terms that cancelled in it."""
    for i, p in enumerate(lw_ps):
        assert p.array.dtype == NP[dtype], f"{what}: param {i} became {p.array.dtype}"
    if dtype == "float64":
        for i, (p, q) in enumerate(zip(lw_ps, th_ps)):
            assert_close(p.array, q.detach().numpy(), TOL[dtype], f"{what} param {i}")
    else:
        assert_close(np.concatenate([p.array.ravel() for p in lw_ps]),
                     np.concatenate([q.detach().numpy().ravel() for q in th_ps]),
                     TOL[dtype], f"{what} params")


def _compare_state(lw_opt, th_opt, lw_ps, th_ps, dtype, what):
    for i, (p, q) in enumerate(zip(lw_ps, th_ps)):
        ls, ts = lw_opt.state[p], th_opt.state[q]
        assert sorted(ls) == sorted(ts), f"{what}: state keys {sorted(ls)} != torch's {sorted(ts)}"
        for k in ts:
            assert isinstance(ls[k], lw.Tensor), f"{what}: state[{k!r}] is not a layerwise Tensor"
            assert ls[k].array.dtype == ts[k].detach().numpy().dtype, \
                f"{what}: state[{k!r}] dtype {ls[k].array.dtype} != torch's {ts[k].dtype}"
            if k == "step":
                assert float(ls[k]) == float(ts[k]), f"{what}: step {float(ls[k])} != {float(ts[k])}"
            else:
                assert ls[k].shape == tuple(ts[k].shape)
                assert_close(ls[k].array, ts[k].detach().numpy(), TOL[dtype], f"{what} state {k} {i}")
