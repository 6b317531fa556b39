"""LayerNorm, RMSNorm, GroupNorm and InstanceNorm1d/2d *modules* against torch: forward, input and
parameter gradients with torch's weights (perturbed, so γ/β are not just ones/zeros), running stats
of InstanceNorm over several steps and in eval mode, unbatched InstanceNorm, state-dict keys,
reprs, init, and errors that name the layer and the shapes."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import normalization
from parity import check_module, parity_module, rand


class _LwNN:
    def __getattr__(self, name):
        return getattr(normalization, name)


def NN(m):
    return torch.nn if m is torch else _LwNN()


def _perturbed(make):
    """``make(m)`` with its affine parameters moved off their ones/zeros init (torch side only;
    the harness copies them into layerwise by state_dict)."""
    def build(m):
        mod = make(m)
        if m is torch:
            with torch.no_grad():
                for i, p in enumerate(mod.parameters()):
                    p.add_(torch.tensor(rand(*p.shape, seed=40 + i) * 0.5))
        return mod
    return build


MODULES = [
    ("LayerNorm", (5,), {}, (3, 5)),
    ("LayerNorm", ((3, 4),), {}, (2, 3, 4)),
    ("LayerNorm", ([4],), dict(bias=False), (2, 2, 4)),
    ("LayerNorm", (4,), dict(elementwise_affine=False, eps=1e-3), (3, 4)),
    ("RMSNorm", (6,), {}, (2, 3, 6)),
    ("RMSNorm", ((2, 3),), dict(eps=1e-4), (4, 2, 3)),
    ("RMSNorm", (3,), dict(elementwise_affine=False), (5, 3)),
    ("GroupNorm", (1, 4), {}, (2, 4, 5)),
    ("GroupNorm", (4, 4), {}, (2, 4, 3, 2)),
    ("GroupNorm", (2, 6), dict(bias=False), (3, 6, 4)),
    ("GroupNorm", (3, 6), dict(affine=False), (2, 6)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)),
    ("InstanceNorm1d", (3,), dict(affine=True), (2, 3, 6)),
    ("InstanceNorm1d", (3,), dict(affine=True), (3, 6)),                 # unbatched
    ("InstanceNorm2d", (2,), dict(affine=True, eps=1e-3), (2, 2, 3, 4)),
    ("InstanceNorm2d", (2,), {}, (2, 3, 4)),                             # unbatched
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,args,kw,shape", MODULES, ids=lambda v: str(v))
def test_modules_match_torch(name, args, kw, shape):
    make = _perturbed(lambda m: getattr(NN(m), name)(*args, **kw))
    check_module(make, rand(*shape) + 0.3, what=name)
    assert repr(getattr(NN(lw), name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


@pytest.mark.parametrize("name,args,kw", [(n, a, k) for n, a, k, _ in MODULES], ids=lambda v: str(v))
def test_state_dict_keys_shapes_and_init(name, args, kw):
    a, b = getattr(NN(lw), name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sb:
        assert tuple(sa[k].shape) == tuple(sb[k].shape), k
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())     # ones / zeros / counters
        assert str(sa[k].dtype).split(".")[-1] == str(sb[k].dtype).split(".")[-1], k
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]


def test_parameter_counts():
    assert sum(p.numel() for p in normalization.LayerNorm((3, 4)).parameters()) == 24
    assert sum(p.numel() for p in normalization.LayerNorm((3, 4), bias=False).parameters()) == 12
    assert sum(p.numel() for p in normalization.RMSNorm(8).parameters()) == 8
    assert sum(p.numel() for p in normalization.GroupNorm(2, 6).parameters()) == 12
    assert sum(p.numel() for p in normalization.InstanceNorm1d(5).parameters()) == 0


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (4, 3, 5)), ("InstanceNorm2d", (2, 3, 3, 4)),
                                        ("InstanceNorm1d", (3, 5))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm_running_stats_match_torch(name, shape, momentum):
    make = lambda m: getattr(NN(m), name)(3, momentum=momentum, affine=True,  # noqa: E731
                                          track_running_stats=True)
    for dtype in ("float32", "float64"):
        mods = {}
        for m in (torch, lw):
            mods[m] = make(m).to(getattr(m, dtype))
        for step in range(3):
            x = rand(*shape, seed=20 + step) * (step + 1) + step
            for m, mod in mods.items():
                mod(m.tensor(x.astype(dtype)))
        tol = 1e-6 if dtype == "float32" else 1e-12
        for k in ("running_mean", "running_var", "num_batches_tracked"):
            a, b = mods[lw].state_dict()[k].numpy(), mods[torch].state_dict()[k].numpy()
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=k)
        x = rand(*shape, seed=30)
        for m, mod in mods.items():
            mod.eval()
        a = mods[lw](lw.tensor(x.astype(dtype))).detach().numpy()
        b = mods[torch](torch.tensor(x.astype(dtype))).detach().numpy()
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


def test_instance_norm_eval_with_running_stats_gradients():
    """Eval mode normalises with the (fixed) running stats: parity of every gradient."""
    def make(m):
        mod = NN(m).InstanceNorm1d(3, affine=True, track_running_stats=True)
        if m is torch:
            mod.running_mean.copy_(torch.tensor(rand(3, seed=1)))
            mod.running_var.copy_(torch.tensor(rand(3, lo=0.5, hi=2.0, seed=2)))
        return mod
    check_module(_perturbed(make), rand(2, 3, 4), train=False)


def test_instance_norm_without_tracking_uses_instance_stats_in_eval():
    check_module(lambda m: NN(m).InstanceNorm2d(2, affine=True), rand(2, 2, 3, 3), train=False)


def test_layer_norm_module_in_a_small_network_trains_like_torch():
    """LayerNorm + GroupNorm between Linear layers: the same losses over a few SGD steps."""
    def build(m):
        torch.manual_seed(0)
        nn = NN(m)
        base = m.nn
        return [base.Linear(6, 8), nn.LayerNorm(8), nn.RMSNorm(8), base.Linear(8, 4)]
    losses = {}
    for m in (torch, lw):
        layers = build(m)
        if m is lw:
            for tl, ll in zip(build(torch), layers):
                for (n, p) in tl.state_dict().items():
                    ll.state_dict()[n].array[...] = p.numpy()
        params = [p for layer in layers for p in layer.parameters()]
        opt = m.optim.SGD(params, lr=0.1)
        out = []
        for step in range(5):
            x = m.tensor(rand(5, 6, seed=step).astype(np.float32))
            for layer in layers:
                x = layer(x)
            loss = (x * x).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses[m] = out
    np.testing.assert_allclose(losses[lw], losses[torch], rtol=1e-5)


ERRORS = [
    (lambda m: NN(m).LayerNorm(4), (2, 3), r"LayerNorm\(\(4,\).*expected input of shape \(\*, 4\).*\(2, 3\)"),
    (lambda m: NN(m).RMSNorm((2, 3)), (3, 2), r"RMSNorm\(\(2, 3\).*\(\*, 2, 3\).*\(3, 2\)"),
    (lambda m: NN(m).GroupNorm(2, 4), (3, 6), r"GroupNorm\(2, 4.*\(N, 4, \*\).*\(3, 6\)"),
    (lambda m: NN(m).InstanceNorm1d(3, affine=True), (2, 4, 5),
     r"InstanceNorm1d\(3.*with 3 channels at dim 1, got \(2, 4, 5\)"),
    (lambda m: NN(m).InstanceNorm1d(3), (5,), r"InstanceNorm1d\(3.*\(N, 3, L\) or \(3, L\).*\(5,\)"),
    (lambda m: NN(m).InstanceNorm2d(3), (2, 3, 4, 5, 6),
     r"InstanceNorm2d\(3.*\(N, 3, H, W\).*\(2, 3, 4, 5, 6\)"),
]


@pytest.mark.parametrize("make,shape,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_layer_and_shapes(make, shape, match):
    with pytest.raises((RuntimeError, ValueError)):
        make(torch)(torch.tensor(rand(*shape)))
    with pytest.raises((RuntimeError, ValueError), match=match):
        make(lw)(lw.tensor(rand(*shape)))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        normalization.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match="at least one dim"):
        normalization.LayerNorm(())


def test_instance_norm_channel_mismatch_without_affine_warns_like_torch():
    x = rand(2, 4, 5)
    with pytest.warns(UserWarning, match="does not match num_features"):
        a = normalization.InstanceNorm1d(3)(lw.tensor(x))
    with pytest.warns(UserWarning):
        b = torch.nn.InstanceNorm1d(3)(torch.tensor(x))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_module_keeps_float32():
    mod = normalization.LayerNorm(4)
    y = mod(lw.tensor(rand(2, 4).astype(np.float32)))
    assert y.dtype == lw.float32 and mod.weight.dtype == lw.float32
    for lw_mod, th_mod in parity_module(lambda m: NN(m).GroupNorm(2, 4), rand(2, 4, 3),
                                        dtypes=("float32",)):
        assert lw_mod.weight.grad.dtype == lw.float32
