"""Module, containers, Linear: registration, traversal, state_dict, hooks, repr — against torch."""
import copy

import numpy as np
import pytest
import torch

import layerwise as lw
from parity import assert_close, check_module, copy_torch_params, rand


def mlp(m):
    return m.nn.Sequential(m.nn.Linear(5, 7), m.nn.Linear(7, 3, bias=False), m.nn.Linear(3, 2))


def test_linear_shapes_and_default_init_statistics():
    lin = lw.nn.Linear(400, 300)
    assert lin.weight.shape == (300, 400) and lin.bias.shape == (300,)
    assert lin.weight.dtype == lw.float32
    bound = 1 / np.sqrt(400)
    w = lin.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    # U(-b, b) has variance b²/3
    assert abs(w.var() - bound ** 2 / 3) < 0.05 * bound ** 2 / 3
    assert np.abs(lin.bias.detach().numpy()).max() <= bound


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_parity(shape, bias):
    check_module(lambda m: m.nn.Linear(5, 6, bias=bias), rand(*shape))


def test_sequential_parity_and_state_dict_keys():
    check_module(mlp, rand(4, 5))
    assert list(mlp(lw).state_dict()) == list(mlp(torch).state_dict())


def test_linear_gradcheck():
    lin = lw.nn.Linear(4, 3).double()
    x = lw.tensor(rand(2, 4), requires_grad=True)
    assert lw.autograd.gradcheck(lin, (x,), params=list(lin.parameters()))


def test_bilinear_parity_and_gradcheck():
    check_module(lambda m: m.nn.Bilinear(3, 4, 2), rand(5, 3), rand(5, 4))
    bil = lw.nn.Bilinear(3, 4, 2).double()
    a, b = lw.tensor(rand(5, 3), requires_grad=True), lw.tensor(rand(5, 4), requires_grad=True)
    assert lw.autograd.gradcheck(bil, (a, b), params=list(bil.parameters()))


def test_linear_errors_name_layer_and_shapes():
    lin = lw.nn.Linear(64, 10)
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=64.*expected input of shape \(\*, 64\), got \(8, 32\)"):
        lin(lw.randn(8, 32))
    with pytest.raises(TypeError, match="floating point"):
        lin(lw.ones(2, 64, dtype=lw.int64))
    with pytest.raises(TypeError, match="float64 does not match the weight dtype float32"):
        lin(lw.ones(2, 64, dtype=lw.float64))


def test_registration_and_traversal():
    class Net(lw.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lw.nn.Linear(2, 2)
            self.b = lw.nn.Sequential(lw.nn.Linear(2, 2), lw.nn.Identity())
            self.register_buffer("count", lw.zeros(1))
            self.register_buffer("tmp", lw.zeros(1), persistent=False)
            self.scale = lw.nn.Parameter(lw.ones(1))

        def forward(self, x):
            return self.b(self.a(x)) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "a.weight", "a.bias", "b.0.weight", "b.0.bias"]
    assert [n for n, _ in net.named_buffers()] == ["count", "tmp"]
    assert list(net.state_dict()) == ["scale", "count", "a.weight", "a.bias", "b.0.weight", "b.0.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "b", "b.0", "b.1"]
    assert [n for n, _ in net.named_children()] == ["a", "b"]
    assert net.get_submodule("b.0") is net.b[0]
    assert net.get_parameter("a.bias") is net.a.bias
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        net.nope
    with pytest.raises(TypeError, match="cannot assign"):
        net.a = 3


def test_tied_parameters_counted_once_and_stay_tied_after_load():
    a, b = lw.nn.Linear(3, 3), lw.nn.Linear(3, 3)
    b.weight = a.weight
    seq = lw.nn.Sequential(a, b)
    assert len(list(seq.parameters())) == 3
    sd = {k: v.clone() + 1 for k, v in seq.state_dict().items()}
    seq.load_state_dict(sd)
    assert seq[0].weight is seq[1].weight
    np.testing.assert_array_equal(seq[1].weight.detach().numpy(), sd["0.weight"].numpy())


def test_load_state_dict_errors_list_every_problem():
    lin = lw.nn.Linear(4, 3)
    bad = {"weight": lw.zeros(4, 4), "extra": lw.zeros(1)}
    with pytest.raises(RuntimeError) as err:
        lin.load_state_dict(bad)
    msg = str(err.value)
    assert "Linear" in msg and 'Missing key(s) in state_dict: "bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert "size mismatch for weight: copying a param with shape (4, 4) from checkpoint, the shape in current model is (3, 4)" in msg
    res = lin.load_state_dict({"weight": lw.ones(3, 4)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == []
    assert (lin.weight.detach().numpy() == 1).all()
    with pytest.raises(RuntimeError, match="size mismatch"):
        lin.load_state_dict({"weight": lw.ones(2, 4)}, strict=False)


def test_load_state_dict_copies_in_place_and_casts():
    lin = lw.nn.Linear(2, 2)
    w = lin.weight
    arr = w.array
    lin.load_state_dict({"weight": lw.ones(2, 2, dtype=lw.float64), "bias": lw.zeros(2)})
    assert lin.weight is w and lin.weight.array is arr and w.dtype == lw.float32


def test_repr_matches_torch():
    assert repr(mlp(lw)) == repr(mlp(torch))
    assert repr(lw.nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(lw.nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))


def test_flatten_unflatten_identity_parity():
    check_module(lambda m: m.nn.Sequential(m.nn.Flatten(), m.nn.Unflatten(1, (3, 4)), m.nn.Identity()),
                 rand(2, 3, 2, 2))


def test_module_to_dtype_zero_grad_and_requires_grad():
    net = mlp(lw).double()
    assert all(p.dtype == lw.float64 for p in net.parameters())
    net(lw.randn(2, 5, dtype=lw.float64)).sum().backward()
    assert all(p.grad is not None and p.grad.dtype == lw.float64 for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.to("cpu")
    with pytest.raises(RuntimeError, match="not available"):
        net.to("cuda")


def test_deepcopy_keeps_ties_and_copies_data():
    a = lw.nn.Linear(3, 3)
    seq = lw.nn.Sequential(a, a)
    c = copy.deepcopy(seq)
    assert c[0] is c[1] and c[0].weight is not a.weight
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), a.weight.detach().numpy())


def test_sequential_and_list_and_dict_containers():
    s = lw.nn.Sequential(lw.nn.Linear(2, 2), lw.nn.Identity(), lw.nn.Linear(2, 1))
    assert len(s) == 3 and isinstance(s[-1], lw.nn.Linear) and len(s[:2]) == 2
    del s[1]
    assert list(s._modules) == ["0", "1"]
    ml = lw.nn.ModuleList([lw.nn.Linear(1, 1) for _ in range(3)])
    ml.append(lw.nn.Identity())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    md = lw.nn.ModuleDict({"x": lw.nn.Linear(1, 1)})
    md["y"] = lw.nn.Identity()
    assert list(md.keys()) == ["x", "y"] and "x" in md
    with pytest.raises(IndexError, match="out of range"):
        s[5]


def test_apply_and_reset():
    net = mlp(lw)
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Linear", "Sequential"]


def test_forward_pre_and_forward_hooks_like_torch():
    calls = []
    for m in (lw, torch):
        lin = m.nn.Linear(3, 2)
        h1 = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        h2 = lin.register_forward_hook(lambda mod, args, out: out + 1)
        x = m.ones(1, 3)
        with m.no_grad():
            lin.weight.fill_(1.0)
            lin.bias.fill_(0.0)
        calls.append(lin(x).detach().numpy().tolist())
        h1.remove()
        h2.remove()
        calls.append(lin(x).detach().numpy().tolist())
    assert calls[0] == calls[2] == [[7.0, 7.0]] and calls[1] == calls[3] == [[3.0, 3.0]]


def test_full_backward_hook_matches_torch():
    got = {}
    for m in (lw, torch):
        torch.manual_seed(0)
        net = mlp(torch)
        lnet = mlp(m)
        if m is lw:
            copy_torch_params(net, lnet)
        else:
            lnet = net
        records = []
        lnet[1].register_full_backward_hook(
            lambda mod, gi, go: records.append(([g.detach().numpy().copy() for g in gi],
                                                [g.detach().numpy().copy() for g in go])))
        x = m.tensor(rand(4, 5).astype(np.float32), requires_grad=True)
        lnet(x).pow(2).sum().backward()
        got[m.__name__] = records
    (gi_l, go_l), = got["layerwise"]
    (gi_t, go_t), = got["torch"]
    assert_close(gi_l[0], gi_t[0], 1e-5, "grad_input")
    assert_close(go_l[0], go_t[0], 1e-5, "grad_output")


def test_full_backward_hook_can_replace_grad_input_and_sees_none_for_data_input():
    lin = lw.nn.Linear(3, 2)
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    lin(lw.ones(1, 3)).sum().backward()          # input needs no grad: grad_input is (None,)
    assert seen == [(None,)]
    lin2 = lw.nn.Linear(3, 2)
    lin2.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = lw.ones(1, 3, requires_grad=True)
    lin2(x).sum().backward()
    assert (x.grad.numpy() == 0).all()


# ---------------------------------------------------------------------- parameter containers
def test_parameter_list_registers_like_torch():
    def build(m):
        pl = m.nn.ParameterList([m.nn.Parameter(m.ones(3, 4)), m.ones(5)])
        pl.append(m.nn.Parameter(m.tensor(1.0)))
        pl += [m.zeros(2)]
        return pl

    ours, theirs = build(lw), build(torch)
    assert list(dict(ours.named_parameters())) == list(dict(theirs.named_parameters())) == \
        ["0", "1", "2", "3"]
    assert all(isinstance(p, lw.nn.Parameter) and p.requires_grad for p in ours)
    assert repr(ours) == repr(theirs).replace("torch.", "layerwise.")
    assert [tuple(p.shape) for p in ours[1:3]] == [(5,), ()] and tuple(ours[-1].shape) == (2,)
    ours[0] = lw.full((2,), 7.0)
    assert isinstance(ours[0], lw.nn.Parameter) and ours[0].tolist() == [7.0, 7.0]
    with pytest.raises(IndexError, match="out of range for a ParameterList of length 4"):
        ours[4]
    # torch's state dict loads, and an optimizer trains the listed parameters
    ours[0] = lw.nn.Parameter(lw.ones(3, 4))
    ours.load_state_dict({k: lw.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    opt = lw.optim.SGD(ours.parameters(), lr=0.5)
    sum((p * p).sum() for p in ours).backward()
    opt.step()
    assert ours[1].tolist() == [0.0] * 5                  # 1 − 0.5·2·1


def test_parameter_dict_registers_like_torch():
    def build(m):
        pd = m.nn.ParameterDict({"a": m.nn.Parameter(m.ones(2)), "b": m.zeros(2, 2)})
        pd["c"] = m.ones(1)
        pd.update([("d", m.nn.Parameter(m.ones(3)))])
        return pd

    ours, theirs = build(lw), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a", "b", "c", "d"]
    assert list(ours.keys()) == list(theirs.keys()) and "c" in ours and len(ours) == 4
    assert isinstance(ours["b"], lw.nn.Parameter)
    popped = ours.pop("b")
    assert tuple(popped.shape) == (2, 2) and list(ours) == ["a", "c", "d"]
    assert list(dict(ours.named_parameters())) == ["a", "c", "d"]
    assert "(a): Parameter containing: [layerwise.float32 of size 2]" in repr(ours)
    with pytest.raises(KeyError):
        ours["b"]
    with pytest.raises(TypeError, match="keys must be strings"):
        ours[1] = lw.ones(1)
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []
