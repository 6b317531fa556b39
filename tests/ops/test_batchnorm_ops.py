"""The fused batch-norm op (functional ``batch_norm``) against torch: train/eval, with and without
γ/β, 2-d to 5-d inputs, running-stat updates (unbiased variance, momentum), no graph through the
running stats, torch's errors, and a float64 finite-difference gradcheck of the fused backward."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import batchnorm
from parity import const, gradcheck, parity, rand


def F(m):
    return torch.nn.functional if m is torch else batchnorm


SHAPES = [(4, 3), (4, 3, 5), (2, 3, 4, 5), (3, 2, 2, 3, 2), (1, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_affine(shape, training):
    c = shape[1]
    rm, rv = const(rand(c, seed=1) * 0.3), const(rand(c, lo=0.5, hi=2.0, seed=2))
    parity(lambda m, x, rm, rv, w, b: F(m).batch_norm(x, rm, rv, w, b, training=training),
           rand(*shape) + 0.7, rm, rv, rand(c, seed=3), rand(c, seed=4),
           what=f"batch_norm {shape} training={training}")


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_weight_only_bias_only_none(training):
    x, c = rand(3, 4, 5), 4
    rm, rv = const(rand(c, seed=1) * 0.3), const(rand(c, lo=0.5, hi=2.0, seed=2))
    parity(lambda m, x, rm, rv, w: F(m).batch_norm(x, rm, rv, w, training=training),
           x, rm, rv, rand(c, seed=3))
    parity(lambda m, x, rm, rv, b: F(m).batch_norm(x, rm, rv, None, b, training=training),
           x, rm, rv, rand(c, seed=4))
    parity(lambda m, x, rm, rv: F(m).batch_norm(x, rm, rv, training=training, eps=1e-3), x, rm, rv)


def test_batch_norm_without_running_stats_uses_batch_stats():
    parity(lambda m, x, w, b: F(m).batch_norm(x, None, None, w, b, training=True),
           rand(5, 3, 4), rand(3, seed=1), rand(3, seed=2))


def test_batch_norm_float32_with_offset_data():
    """Large mean relative to the spread: float32 statistics must still match torch's."""
    x = rand(8, 4, 6, 6) * 0.5 + 20.0
    parity(lambda m, x, w, b: F(m).batch_norm(x, None, None, w, b, training=True),
           x, rand(4, seed=1), rand(4, seed=2), dtypes=("float32",))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
def test_running_stats_update_like_torch(dtype, momentum):
    c = 3
    stats = {}
    for m in (torch, lw):
        rm = m.tensor(rand(c, seed=1).astype(dtype))
        rv = m.tensor(rand(c, lo=0.5, hi=2.0, seed=2).astype(dtype))
        for step in range(3):
            x = m.tensor(rand(4, c, 3, 2, seed=10 + step).astype(dtype) * (step + 1))
            F(m).batch_norm(x, rm, rv, training=True, momentum=momentum)
        stats[m.__name__] = rm.numpy(), rv.numpy()
    tol = 1e-6 if dtype == "float32" else 1e-12
    for a, b in zip(stats["layerwise"], stats["torch"]):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_running_var_uses_unbiased_variance_and_normalising_the_biased():
    x = np.array([[1.0], [2.0], [4.0]])                     # m = 3, μ = 7/3
    rm, rv = lw.zeros(1, dtype=lw.float64), lw.ones(1, dtype=lw.float64)
    y = batchnorm.batch_norm(lw.tensor(x), rm, rv, training=True, momentum=1.0, eps=0.0)
    assert np.isclose(rm.item(), 7 / 3)
    assert np.isclose(rv.item(), np.var(x, ddof=1))
    np.testing.assert_allclose(y.numpy(), (x - x.mean()) / x.std())     # biased: ddof=0


def test_eval_does_not_touch_running_stats_and_no_graph_through_them():
    rm, rv = lw.tensor(rand(3, seed=1)), lw.tensor(rand(3, lo=0.5, hi=2, seed=2))
    before = rm.numpy().copy(), rv.numpy().copy()
    x = lw.tensor(rand(4, 3), requires_grad=True)
    batchnorm.batch_norm(x, rm, rv, training=False).sum().backward()
    np.testing.assert_array_equal(rm.numpy(), before[0])
    np.testing.assert_array_equal(rv.numpy(), before[1])
    batchnorm.batch_norm(x, rm, rv, training=True).sum().backward()
    assert not rm.requires_grad and rm.grad_fn is None and rv.grad_fn is None
    assert not np.array_equal(rm.numpy(), before[0])


def test_gradcheck_fused_backward_float64():
    x, w, b = rand(4, 3, 5) + 0.3, rand(3, seed=1), rand(3, seed=2)
    rm, rv = rand(3, seed=5), rand(3, lo=0.5, hi=2, seed=6)
    gradcheck(lambda m, x, w, b: batchnorm.batch_norm(x, None, None, w, b, training=True), x, w, b)
    gradcheck(lambda m, x: batchnorm.batch_norm(x, None, None, training=True), rand(6, 2, 3, 2))
    gradcheck(lambda m, x, w, b: batchnorm.batch_norm(x, lw.tensor(rm), lw.tensor(rv), w, b),
              x, w, b)                                                  # eval
    gradcheck(lambda m, x, w: batchnorm.batch_norm(x, None, None, w, training=True), rand(5, 3), w)


def test_gradcheck_would_catch_a_missing_variance_term(monkeypatch):
    """Dropping the x̂·Σ(g_x̂·x̂) term (the path through σ²) must fail the gradcheck."""
    from layerwise.ops import batchnorm as bn_ops
    original = bn_ops.BatchNormOp.backward

    def no_var_term(self, g):
        xhat, invstd, w = self.saved
        grads = original(self, g)
        gx = grads[0] if isinstance(grads, tuple) else grads
        g3 = g.reshape(g.shape[0], g.shape[1], -1)
        extra = (xhat * ((g3 * xhat).sum(axis=(0, 2)) / self.saved.m)[:, None]) * invstd[:, None]
        return (gx + extra.reshape(g.shape),) + tuple(grads[1:]) if isinstance(grads, tuple) \
            else gx + extra.reshape(g.shape)

    monkeypatch.setattr(bn_ops.BatchNormOp, "backward", no_var_term)
    with pytest.raises(AssertionError):
        gradcheck(lambda m, x: batchnorm.batch_norm(x, None, None, training=True), rand(6, 2, 3))


def test_errors():
    x = lw.tensor(rand(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        batchnorm.batch_norm(x, None, None, training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3, 1, 1\)"):
        batchnorm.batch_norm(lw.tensor(rand(1, 3, 1, 1)), None, None, training=True)
    with pytest.raises(RuntimeError, match="must be defined in evaluation mode"):
        batchnorm.batch_norm(lw.tensor(rand(2, 3)), None, None, training=False)
    with pytest.raises(RuntimeError, match=r"running_mean should have shape \(4,\).*4 channels.*\(3,\)"):
        batchnorm.batch_norm(lw.tensor(rand(2, 4)), lw.zeros(3), lw.ones(3))
    with pytest.raises(RuntimeError, match=r"weight should have shape \(3,\)"):
        batchnorm.batch_norm(lw.tensor(rand(2, 3)), None, None, lw.ones(2), training=True)
    with pytest.raises(TypeError, match="floating point"):
        batchnorm.batch_norm(lw.tensor(np.ones((2, 3), np.int64)), None, None, training=True)
