"""Pooling and batch-norm *modules* against torch: forward, input and parameter gradients with
torch's weights, running stats and num_batches_tracked over several steps (momentum and
cumulative average), eval mode, affine off, track_running_stats off, state-dict keys, reprs,
return_indices modules, MaxUnpool2d, and error messages that name the layer and shapes."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import batchnorm, pooling
from parity import check_module, distinct, parity_module, rand


class _LwNN:
    """layerwise's pooling and batch-norm modules under torch.nn-style names."""

    def __getattr__(self, name):
        return getattr(pooling, name) if hasattr(pooling, name) else getattr(batchnorm, name)


def NN(m):
    return torch.nn if m is torch else _LwNN()


# ------------------------------------------------------------------------------------ pooling
POOL_MODULES = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 7)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 7, 7)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, dilation=(2, 1)), (3, 6, 7)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("MaxPool1d", (2,), dict(ceil_mode=True), (3, 7)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 7, 6)),
    ("AvgPool2d", (2,), dict(ceil_mode=True, divisor_override=3), (1, 2, 5, 5)),
    ("AvgPool2d", (2,), {}, (3, 4, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 8)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((2, 3),), {}, (2, 3, 7, 8)),
    ("AdaptiveMaxPool1d", (5,), {}, (3, 7)),
]


@pytest.mark.parametrize("name,args,kw,shape", POOL_MODULES, ids=lambda v: str(v))
def test_pool_modules_match_torch(name, args, kw, shape):
    check_module(lambda m: getattr(NN(m), name)(*args, **kw), distinct(*shape), what=name)
    assert repr(getattr(NN(lw), name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("name,args", [("MaxPool2d", (3, 2, 1)), ("MaxPool1d", (2,)),
                                       ("AdaptiveMaxPool2d", ((3, 2),)), ("AdaptiveMaxPool1d", (3,))])
def test_return_indices_modules(name, args):
    x = distinct(2, 3, 7, 7) if "2d" in name else distinct(2, 3, 7)
    a = getattr(NN(lw), name)(*args, return_indices=True)(lw.tensor(x))
    b = getattr(torch.nn, name)(*args, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


def test_max_unpool2d_module():
    x = distinct(2, 3, 7, 7)
    for lib in (torch, lw):
        pool = NN(lib).MaxPool2d(2, return_indices=True)
        unpool = NN(lib).MaxUnpool2d(2)
        y, i = pool(lib.tensor(x))
        out = unpool(y, i, output_size=(7, 7))
        if lib is torch:
            expected = out.numpy()
        else:
            np.testing.assert_array_equal(out.numpy(), expected)
    assert repr(NN(lw).MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))
    assert repr(NN(lw).MaxUnpool2d((2, 3), 1, 1)) == repr(torch.nn.MaxUnpool2d((2, 3), 1, 1))


def test_pool_module_errors_name_the_layer():
    with pytest.raises(RuntimeError, match=r"^MaxPool2d\(kernel_size=2, stride=2, .*\): expected input "
                                           r"of shape \(N, C, H, W\) or \(C, H, W\).*got \(5, 5\)"):
        NN(lw).MaxPool2d(kernel_size=2)(lw.tensor(rand(5, 5)))
    with pytest.raises(RuntimeError, match=r"^AvgPool1d\(kernel_size=\(2,\).*got \(1, 2, 3, 4, 5\)"):
        NN(lw).AvgPool1d(2)(lw.tensor(rand(1, 2, 3, 4, 5)))
    with pytest.raises(RuntimeError, match=r"^MaxPool2d\(kernel_size=3.*too small"):
        NN(lw).MaxPool2d(3)(lw.tensor(rand(1, 1, 2, 5)))
    with pytest.raises(ValueError, match=r"MaxPool2d: padding should be at most half of kernel size"):
        NN(lw).MaxPool2d(2, padding=2)
    with pytest.raises(RuntimeError, match=r"^AdaptiveMaxPool2d\(output_size=2\): expected input"):
        NN(lw).AdaptiveMaxPool2d(2)(lw.tensor(rand(4, 4)))


# ------------------------------------------------------------------------------------ batch norm
BN_CONFIGS = [
    ("BatchNorm2d", dict(), (4, 3, 5, 5)),
    ("BatchNorm2d", dict(momentum=None), (2, 3, 3, 4)),
    ("BatchNorm2d", dict(affine=False), (3, 2, 4, 4)),
    ("BatchNorm2d", dict(track_running_stats=False), (3, 2, 4, 4)),
    ("BatchNorm2d", dict(bias=False, eps=1e-3, momentum=0.3), (2, 3, 4, 3)),
    ("BatchNorm1d", dict(), (6, 4)),
    ("BatchNorm1d", dict(momentum=None, affine=False), (3, 4, 5)),
    ("BatchNorm1d", dict(track_running_stats=False, affine=False), (5, 3)),
]


def _set_affine(th_mod, seed=0):
    """Non-trivial γ/β so their gradients and effect are tested (defaults are 1 and 0)."""
    with torch.no_grad():
        if th_mod.weight is not None:
            th_mod.weight.copy_(torch.tensor(rand(th_mod.num_features, seed=seed)))
        if th_mod.bias is not None:
            th_mod.bias.copy_(torch.tensor(rand(th_mod.num_features, seed=seed + 1)))


@pytest.mark.parametrize("name,kw,shape", BN_CONFIGS, ids=str)
def test_batchnorm_training_steps_then_eval(name, kw, shape):
    """Several training steps: outputs, input and parameter gradients, running stats and
    num_batches_tracked equal torch's at every step; then eval mode."""
    for dtype, tol in (("float32", 1e-6), ("float64", 1e-12)):
        th = getattr(torch.nn, name)(shape[1], **kw).to(getattr(torch, dtype))
        _set_affine(th)
        lwm = getattr(NN(lw), name)(shape[1], **kw).to(getattr(lw, dtype))
        lwm.load_state_dict({k: lw.tensor(v.numpy().copy()) for k, v in th.state_dict().items()})
        for step in range(3):
            check = parity_module(lambda m: th if m is torch else lwm, rand(*shape, seed=step) * (step + 1),
                                  dtypes=(dtype,), what=f"{name}({kw}) step {step}")
            _rebind(check, th, lwm)
            ths, lws = th.state_dict(), lwm.state_dict()
            assert list(lws) == list(ths)
            for key in ths:
                a, b = lws[key].numpy(), ths[key].numpy()
                assert a.dtype == b.dtype, key
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"{key} after step {step}")
        check = parity_module(lambda m: th if m is torch else lwm, rand(*shape, seed=9),
                              dtypes=(dtype,), train=False, what=f"{name}({kw}) eval")
        _rebind(check, th, lwm)
        if th.track_running_stats:
            assert lwm.num_batches_tracked.item() == th.num_batches_tracked.item() == 3


def _rebind(gen, th, lwm):
    """Run a parity_module generator whose ``make`` returns the same (stateful) modules.

    parity_module re-copies torch's state into ours each time, which is what we want: both
    start each step from the same state, and the comparison after it shows both updated alike."""
    for lw_mod, th_mod in gen:
        assert lw_mod is lwm and th_mod is th
        for p in list(lw_mod.parameters()) + list(th_mod.parameters()):
            p.grad = None


def test_batchnorm_state_evolves_independently_like_torch():
    """Without re-syncing: 5 steps each on its own, running stats and counter still equal."""
    th, lwm = torch.nn.BatchNorm2d(3, momentum=None), NN(lw).BatchNorm2d(3, momentum=None)
    for step in range(5):
        x = rand(4, 3, 3, 3, seed=20 + step) * (1 + step) + step
        th(torch.tensor(x, dtype=torch.float32))
        lwm(lw.tensor(x.astype(np.float32)))
    np.testing.assert_allclose(lwm.running_mean.numpy(), th.running_mean.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(lwm.running_var.numpy(), th.running_var.numpy(), rtol=1e-6, atol=1e-6)
    assert lwm.num_batches_tracked.dtype == lw.int64 and lwm.num_batches_tracked.item() == 5
    lwm.eval()
    th.eval()
    x = rand(2, 3, 3, 3, seed=99)
    np.testing.assert_allclose(lwm(lw.tensor(x.astype(np.float32))).detach().numpy(),
                               th(torch.tensor(x, dtype=torch.float32)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm_defaults_repr_and_state_dict_keys():
    for name in ("BatchNorm1d", "BatchNorm2d"):
        for kw in (dict(), dict(affine=False), dict(track_running_stats=False), dict(bias=False),
                   dict(momentum=None, eps=1e-3)):
            a, b = getattr(NN(lw), name)(5, **kw), getattr(torch.nn, name)(5, **kw)
            assert repr(a) == repr(b)
            assert list(a.state_dict()) == list(b.state_dict())
            for k, v in b.state_dict().items():
                np.testing.assert_array_equal(a.state_dict()[k].numpy(), v.numpy())
                assert a.state_dict()[k].dtype.name == str(v.dtype).split(".")[-1]
            assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]


def test_batchnorm_reset_and_no_grad_training():
    m = NN(lw).BatchNorm1d(3)
    with lw.no_grad():
        m(lw.tensor(rand(4, 3).astype(np.float32)))
    assert m.num_batches_tracked.item() == 1 and np.any(m.running_mean.numpy() != 0)
    m.reset_running_stats()
    assert m.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(m.running_var.numpy(), np.ones(3, np.float32))


def test_batchnorm_errors_name_the_layer():
    with pytest.raises(RuntimeError, match=r"^BatchNorm2d\(3, .*\): expected input of shape "
                                           r"\(N, 3, H, W\) with C = 3 channels, got \(2, 4, 3, 3\)"):
        NN(lw).BatchNorm2d(3)(lw.tensor(rand(2, 4, 3, 3)))
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(3, .*\(N, 3, H, W\), got \(2, 3, 3\)"):
        NN(lw).BatchNorm2d(3)(lw.tensor(rand(2, 3, 3)))
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(3, .*\(N, 3\) or \(N, 3, L\), got \(2, 3, 3, 3\)"):
        NN(lw).BatchNorm1d(3)(lw.tensor(rand(2, 3, 3, 3)))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        NN(lw).BatchNorm2d(3)(lw.tensor(rand(1, 3, 1, 1).astype(np.float32)))
    m = NN(lw).BatchNorm2d(3).eval()                  # eval with one value per channel is fine
    assert m(lw.tensor(rand(1, 3, 1, 1).astype(np.float32))).shape == (1, 3, 1, 1)
    with pytest.raises(TypeError, match="dtype float32 does not match the input dtype float64"):
        NN(lw).BatchNorm1d(3)(lw.tensor(rand(4, 3)))


def test_max_unpool1d_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 9))
    for kw, size in ((dict(kernel_size=3, stride=2, padding=1), None), (dict(kernel_size=2), (9,))):
        outs, grads = {}, {}
        for m in (torch, lw):
            t = m.tensor(x, requires_grad=True)
            y, idx = m.nn.functional.max_pool1d(t, return_indices=True, **kw)
            out = m.nn.MaxUnpool1d(**kw)(y, idx, output_size=size)
            (out * out).sum().backward()
            outs[m.__name__], grads[m.__name__] = out.detach().numpy(), t.grad.numpy()
        np.testing.assert_array_equal(outs["layerwise"], outs["torch"])
        np.testing.assert_allclose(grads["layerwise"], grads["torch"], rtol=1e-12)
        assert np.any(grads["torch"])
    assert repr(lw.nn.MaxUnpool1d(3, stride=2, padding=1)) == \
        repr(torch.nn.MaxUnpool1d(3, stride=2, padding=1))
