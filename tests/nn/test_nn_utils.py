import numpy as np
import pytest
import torch

import layerwise as lw
from parity import assert_close


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    arrays = [rng.standard_normal(s).astype(np.float32) * 3 for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 5 for s in shapes]
    lp = [lw.nn.Parameter(lw.tensor(a)) for a in arrays]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for p, q, g in zip(lp, tp, grads):
        p.grad = lw.tensor(g)
        q.grad = torch.tensor(g)
    return lp, tp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    lp, tp = _pair()
    n_l = lw.nn.utils.clip_grad_norm_(lp, max_norm, norm_type)
    n_t = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert abs(n_l.item() - n_t.item()) <= 1e-5 * n_t.item()
    for p, q in zip(lp, tp):
        assert_close(p.grad.numpy(), q.grad.numpy(), 1e-6, "clipped grad")
        assert p.grad.dtype == lw.float32


def test_clip_grad_norm_nonfinite_error():
    lp, _ = _pair()
    lp[0].grad.array[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        lw.nn.utils.clip_grad_norm_(lp, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    lp, tp = _pair(1)
    lw.nn.utils.clip_grad_value_(lp, 0.7)
    torch.nn.utils.clip_grad_value_(tp, 0.7)
    for p, q in zip(lp, tp):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_to_vector_round_trip_and_gradient():
    lp, tp = _pair(2)
    v = lw.nn.utils.parameters_to_vector(lp)
    np.testing.assert_array_equal(v.detach().numpy(), torch.nn.utils.parameters_to_vector(tp).detach().numpy())
    before = [p.grad.numpy().copy() for p in lp]
    (v * v).sum().backward()
    for p, g0 in zip(lp, before):     # d(Σv²)/dp = 2p, accumulated onto the existing grad
        assert_close(p.grad.numpy(), g0 + 2 * p.detach().numpy(), 1e-6, "grad through the vector")
    new = lw.arange(v.numel()).float()
    lw.nn.utils.vector_to_parameters(new, lp)
    np.testing.assert_array_equal(lp[1].detach().numpy(), np.arange(12, 16, dtype=np.float32))
    with pytest.raises(ValueError, match="has 3 elements, the parameters need 24"):
        lw.nn.utils.vector_to_parameters(lw.zeros(3), lp)
