"""layerwise.optim against torch.optim: identical gradients in, identical parameters out.

Every optimizer option combination is fed the same fixed random gradient sequence in
both libraries and must track torch's parameters (and state) step for step over 100
steps: float64 within 1e-10 and float32 within 1e-5, relative to the whole tensor.
"""
import copy
import pickle

import numpy as np
import pytest
import torch

import layerwise as lw
from parity import assert_close

from optim_helpers import (NP, SHAPES, STEPS, TOL, _compare_params, _compare_state,  # noqa: E402,F401
                           _init, _params, _set_grads, grad_sequence)


def _grads(shapes=SHAPES, steps=STEPS, seed=1):
    """The shared gradient sequence, centred on 0."""
    return grad_sequence(shapes, steps, seed)


def _track(lw_cls, th_cls, kwargs, dtype, th_kwargs=None, steps=STEPS, shapes=SHAPES):
    """Run both optimizers on the same gradients; compare params every step and state at the end."""
    lw_ps, th_ps = _params(_init(shapes), dtype)
    lo = lw_cls(lw_ps, **kwargs)
    to = th_cls(th_ps, **(kwargs if th_kwargs is None else th_kwargs))
    what = f"{lw_cls.__name__}({kwargs}) [{dtype}]"
    for t, gs in enumerate(_grads(shapes, steps=steps)):
        _set_grads(lw_ps, th_ps, gs, dtype)
        lo.step()
        to.step()
        _compare_params(lw_ps, th_ps, dtype, f"{what} step {t}")
    _compare_state(lo, to, lw_ps, th_ps, dtype, what)
    return lw_ps, th_ps


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_growing_parameter_sizes_and_mixed_dtypes(dtype):
    """The shared scratch workspace regrows when a later parameter is larger."""
    shapes = [(), (5,), (4, 3), (2, 3, 4)]
    _track(lw.optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True,
                                               weight_decay=0.1), dtype, steps=20, shapes=shapes)
    _track(lw.optim.Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1,
                                                 maximize=True), dtype, steps=20, shapes=shapes)


def test_mixed_dtype_parameters_in_one_optimizer():
    init = _init([(3,), (4,)])
    lw_ps = [lw.nn.Parameter(init[0].astype(np.float32)), lw.nn.Parameter(init[1])]
    th_ps = [torch.tensor(init[0].astype(np.float32), requires_grad=True),
             torch.tensor(init[1], requires_grad=True)]
    lo, to = lw.optim.AdamW(lw_ps, lr=0.01), torch.optim.AdamW(th_ps, lr=0.01)
    for gs in _grads([(3,), (4,)], steps=20):
        for p, q, g in zip(lw_ps, th_ps, gs):
            g = g.astype(p.array.dtype)
            p.grad, q.grad = lw.tensor(g), torch.tensor(g)
        lo.step()
        to.step()
    assert lw_ps[0].array.dtype == np.float32 and lw_ps[1].array.dtype == np.float64
    assert_close(lw_ps[0].array, th_ps[0].detach().numpy(), 1e-5, "mixed float32")
    assert_close(lw_ps[1].array, th_ps[1].detach().numpy(), 1e-10, "mixed float64")


SGD_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.1, maximize=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True),
    dict(),                                               # torch 2.x default lr 1e-3
]

ADAM_CASES = [dict(lr=0.01, amsgrad=a, weight_decay=wd, maximize=m)
              for a in (False, True) for wd in (0, 0.1) for m in (False, True)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_sgd_tracks_torch(kwargs, dtype):
    _track(lw.optim.SGD, torch.optim.SGD, kwargs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_adam_tracks_torch(cls, kwargs, dtype):
    _track(getattr(lw.optim, cls), getattr(torch.optim, cls), kwargs, dtype)


@pytest.mark.parametrize("kwargs", [dict(), dict(betas=(0.3, 0.5), eps=1e-3), dict(betas=(0.7, 0.9))])
def test_adam_defaults_and_other_betas(kwargs):
    # AdamW's default weight decay 1e-2; β₁ < 0.5 takes torch's other lerp form
    for cls in ("Adam", "AdamW"):
        _track(getattr(lw.optim, cls), getattr(torch.optim, cls), kwargs, "float64", steps=40)


def test_adam_decoupled_weight_decay_flag_is_adamw():
    _track(lw.optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1,
                                                 decoupled_weight_decay=True), "float64", steps=30)
    lw_ps, _ = _params(_init(), "float64")
    assert lw.optim.AdamW(lw_ps).param_groups[0]["decoupled_weight_decay"] is True


def test_tracking_catches_a_wrong_option():
    """The harness can fail: a different dampening or amsgrad setting in torch is detected."""
    with pytest.raises(AssertionError):
        _track(lw.optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9), "float64",
               th_kwargs=dict(lr=0.05, momentum=0.9, dampening=0.01), steps=5)
    with pytest.raises(AssertionError):
        _track(lw.optim.Adam, torch.optim.Adam, dict(lr=0.01), "float64",
               th_kwargs=dict(lr=0.01, amsgrad=True))


def test_gradient_sequence_exercises_amsgrad_and_weight_decay():
    """Sanity for the cases above: the options change torch's trajectory noticeably."""
    def run(**kw):
        _, th_ps = _track(lw.optim.Adam, torch.optim.Adam, dict(lr=0.01, **kw), "float64")
        return np.concatenate([q.detach().numpy().ravel() for q in th_ps])
    base = run()
    assert np.abs(run(amsgrad=True) - base).max() > 1e-5      # ≫ the 1e-10 tolerance
    assert np.abs(run(weight_decay=0.1) - base).max() > 1e-3


# ---------------------------------------------------------------------- groups, grads, closure
def test_param_groups_with_different_options_track_torch():
    for dtype in ("float64", "float32"):
        lw_ps, th_ps = _params(_init(), dtype)
        mk = lambda cls, ps: cls([{"params": ps[:2], "lr": 0.1, "momentum": 0.5},
                                  {"params": [ps[2]]}], lr=0.01, momentum=0.9, nesterov=True)
        lo, to = mk(lw.optim.SGD, lw_ps), mk(torch.optim.SGD, th_ps)
        assert lo.param_groups[1]["lr"] == 0.01 and lo.param_groups[0]["lr"] == 0.1
        assert lo.param_groups[1]["nesterov"] is True and lo.param_groups[0]["momentum"] == 0.5
        for t, gs in enumerate(_grads(steps=30)):
            _set_grads(lw_ps, th_ps, gs, dtype)
            lo.step()
            to.step()
            _compare_params(lw_ps, th_ps, dtype, f"groups step {t}")
        _compare_state(lo, to, lw_ps, th_ps, dtype, "groups")


def test_add_param_group_mid_run_and_lr_change_track_torch():
    lw_ps, th_ps = _params(_init(), "float64")
    lo, to = lw.optim.Adam(lw_ps[:1], lr=0.01), torch.optim.Adam(th_ps[:1], lr=0.01)
    for t, gs in enumerate(_grads(steps=40)):
        if t == 10:
            lo.add_param_group({"params": lw_ps[1:], "amsgrad": True})
            to.add_param_group({"params": th_ps[1:], "amsgrad": True})
            assert lo.param_groups[1]["lr"] == 0.01 and lo.param_groups[1]["amsgrad"] is True
        if t == 20:                      # what a scheduler does
            for g in lo.param_groups + to.param_groups:
                g["lr"] *= 0.5
        _set_grads(lw_ps, th_ps, gs, "float64")
        lo.step()
        to.step()
        _compare_params(lw_ps, th_ps, "float64", f"add_param_group step {t}")
    _compare_state(lo, to, lw_ps, th_ps, "float64", "add_param_group")


def test_params_without_grad_are_skipped():
    a, b = lw.nn.Parameter(np.ones(3)), lw.nn.Parameter(np.ones(2))
    opt = lw.optim.Adam([a, b], lr=0.1)
    a.grad = lw.tensor(np.ones(3))
    va, vb = a._version[0], b._version[0]
    opt.step()
    assert np.all(a.array < 1) and np.array_equal(b.array, np.ones(2))
    assert a._version[0] == va + 1 and b._version[0] == vb
    assert b not in opt.state and len(opt.state) == 1
    # SGD without momentum keeps no state, as torch
    sgd = lw.optim.SGD([a], lr=0.1)
    sgd.step()
    assert len(sgd.state) == 0 and sgd.state_dict()["state"] == {}


def test_version_bumped_each_step():
    p = lw.nn.Parameter(np.zeros(3, np.float32))
    opt = lw.optim.SGD([p], lr=0.1, momentum=0.9)
    for i in range(3):
        p.grad = lw.tensor(np.ones(3, np.float32))
        before = p._version[0]
        opt.step()
        assert p._version[0] == before + 1


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    ps = [lw.nn.Parameter(np.ones(3)), lw.nn.Parameter(np.ones(2))]
    opt = lw.optim.SGD(ps, lr=0.1)
    (ps[0] * 2).sum().backward()                  # ps[1] gets no gradient
    g0 = ps[0].grad
    assert g0 is not None and ps[1].grad is None
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert ps[0].grad is None
    else:
        assert ps[0].grad is g0 and np.array_equal(g0.array, np.zeros(3))
        assert not g0.requires_grad
    assert ps[1].grad is None
    # gradients accumulate from zero again afterwards
    (ps[0] * 3).sum().backward()
    assert np.array_equal(ps[0].grad.array, np.full(3, 3.0))


def test_zero_grad_default_sets_none():
    p = lw.nn.Parameter(np.ones(3))
    p.grad = lw.tensor(np.ones(3))
    lw.optim.Adam([p]).zero_grad()
    assert p.grad is None


def _regression_data(dtype="float64", n=32, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(NP[dtype])
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.01 * rng.normal(size=(n, 1))).astype(NP[dtype])
    return x, y


def test_closure_runs_with_grad_enabled_and_loss_is_returned():
    x, y = _regression_data()
    lx, ly = lw.tensor(x), lw.tensor(y)
    tx, ty = torch.tensor(x), torch.tensor(y)
    lw_w, th_w = lw.nn.Parameter(np.zeros((3, 1))), torch.zeros(3, 1, dtype=torch.float64, requires_grad=True)
    lo = lw.optim.SGD([lw_w], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([th_w], lr=0.1, momentum=0.9)
    seen = []

    def lw_closure():
        seen.append(lw.is_grad_enabled())
        lo.zero_grad()
        loss = (lx @ lw_w - ly).pow(2).mean()
        loss.backward()
        return loss

    def th_closure():
        to.zero_grad()
        loss = (tx @ th_w - ty).pow(2).mean()
        loss.backward()
        return loss

    for _ in range(10):
        with lw.no_grad():                     # step re-enables grad for the closure
            l1 = lo.step(lw_closure)
        l2 = to.step(th_closure)
        assert isinstance(l1, lw.Tensor)
        assert abs(l1.item() - l2.item()) <= 1e-10 * abs(l2.item())
        assert_close(lw_w.array, th_w.detach().numpy(), 1e-10, "closure params")
    assert seen == [True] * 10
    assert lo.step() is None                   # no closure → None (uses the last gradient)


# ---------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("make", [lambda ps: lw.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: lw.optim.Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.1),
                                  lambda ps: lw.optim.AdamW(ps, lr=0.1, amsgrad=True)],
                         ids=["SGD", "Adam", "AdamW"])
def test_float32_stays_float32(make):
    p = lw.nn.Parameter(np.ones((2, 3), np.float32))
    opt = make([p])
    for i, lr in enumerate([0.1, np.float64(0.05), lw.tensor(0.02, dtype=lw.float64)]):
        opt.param_groups[0]["lr"] = lr             # e.g. a scheduler writing a NumPy scalar
        p.grad = lw.tensor(np.full((2, 3), 0.5, np.float32))
        opt.step()
        assert p.array.dtype == np.float32, f"step {i}: param became {p.array.dtype}"
    for k, v in opt.state[p].items():
        want = np.float32
        assert v.array.dtype == want, f"state {k} is {v.array.dtype}"
        if k != "step":
            assert v.shape == p.shape
    assert p.grad.array.dtype == np.float32


def test_step_counter_dtype_follows_default_dtype_like_torch():
    lw.set_default_dtype(lw.float64)
    try:
        p = lw.nn.Parameter(np.ones(2, np.float32))
        opt = lw.optim.Adam([p])
        p.grad = lw.tensor(np.ones(2, np.float32))
        opt.step()
        assert opt.state[p]["step"].array.dtype == np.float64
        assert opt.state[p]["exp_avg"].array.dtype == np.float32
    finally:
        lw.set_default_dtype(lw.float32)


# ---------------------------------------------------------------------- state dicts
def _make_groups(lib, cls, ps):
    opt = getattr(lib.optim, cls)
    if cls == "SGD":
        return opt([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02, "dampening": 0.2}],
                   lr=0.05, momentum=0.9)
    return opt([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.002, "amsgrad": True}],
               lr=0.01, weight_decay=0.05)


@pytest.mark.parametrize("cls", ["SGD", "Adam", "AdamW"])
def test_state_dict_layout_matches_torch(cls):
    lw_ps, th_ps = _params(_init(), "float32")
    lo, to = _make_groups(lw, cls, lw_ps), _make_groups(torch, cls, th_ps)
    for gs in _grads(steps=3):
        _set_grads(lw_ps, th_ps, gs, "float32")
        lo.step()
        to.step()
    ls, ts = lo.state_dict(), to.state_dict()
    assert sorted(ls) == ["param_groups", "state"]
    assert sorted(ls["state"]) == sorted(ts["state"]) == [0, 1, 2]
    for i in ts["state"]:
        assert sorted(ls["state"][i]) == sorted(ts["state"][i])
        for k, v in ts["state"][i].items():
            assert isinstance(ls["state"][i][k], lw.Tensor)
            assert ls["state"][i][k].array.dtype == v.numpy().dtype and ls["state"][i][k].shape == tuple(v.shape)
    torch_only = {"foreach", "capturable", "differentiable", "fused"}
    for lg, tg in zip(ls["param_groups"], ts["param_groups"]):
        assert lg["params"] == tg["params"]
        assert set(lg) == set(tg) - torch_only
        for k in lg:
            assert lg[k] == tg[k], f"group option {k}: {lg[k]} != torch's {tg[k]}"
    assert [g["params"] for g in ls["param_groups"]] == [[0, 1], [2]]


@pytest.mark.parametrize("cls", ["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("via", ["deepcopy", "pickle"])
def test_state_dict_round_trip_continues_identically(cls, via):
    init = _init()
    grads = _grads(steps=40)
    ref_ps = [lw.nn.Parameter(a.copy()) for a in init]
    ref = _make_groups(lw, cls, ref_ps)
    run_ps = [lw.nn.Parameter(a.copy()) for a in init]
    run = _make_groups(lw, cls, run_ps)

    def feed(ps, opt, gs):
        for p, g in zip(ps, gs):
            p.grad = lw.tensor(g)
        opt.step()

    for gs in grads[:20]:
        feed(ref_ps, ref, gs)
        feed(run_ps, run, gs)
    saved = run.state_dict()
    saved = copy.deepcopy(saved) if via == "deepcopy" else pickle.loads(pickle.dumps(saved))
    # a fresh process: new parameters holding the saved values, a fresh optimizer
    new_ps = [lw.nn.Parameter(p.array.copy()) for p in run_ps]
    new = _make_groups(lw, cls, new_ps)
    new.param_groups[0]["lr"] = 123.0              # overwritten by the loaded options
    new.load_state_dict(saved)
    assert new.param_groups[0]["lr"] == ref.param_groups[0]["lr"]
    assert all(a is b for a, b in zip(new.param_groups[0]["params"], new_ps[:2]))
    for gs in grads[20:]:
        feed(ref_ps, ref, gs)
        feed(new_ps, new, gs)
    for a, b in zip(new_ps, ref_ps):
        assert np.array_equal(a.array, b.array), "resumed run differs from the uninterrupted one"
    for a, b in zip(new_ps, ref_ps):
        for k in ref.state[b]:
            assert np.array_equal(new.state[a][k].array, ref.state[b][k].array)
    if cls != "SGD":
        assert float(new.state[new_ps[0]]["step"]) == 40.0


def test_load_state_dict_copies_state():
    p = lw.nn.Parameter(np.ones(3))
    opt = lw.optim.Adam([p])
    p.grad = lw.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    q = lw.nn.Parameter(np.ones(3))
    opt2 = lw.optim.Adam([q])
    opt2.load_state_dict(sd)
    assert opt2.state[q]["exp_avg"] is not opt.state[p]["exp_avg"]
    q.grad = lw.tensor(np.ones(3))
    before = opt.state[p]["exp_avg"].array.copy()
    opt2.step()
    assert np.array_equal(opt.state[p]["exp_avg"].array, before)


def test_load_state_dict_casts_floating_state_to_param_dtype():
    p64 = lw.nn.Parameter(np.ones(3))
    o64 = lw.optim.Adam([p64], lr=0.1)
    p64.grad = lw.tensor(np.ones(3))
    o64.step()
    p32 = lw.nn.Parameter(np.ones(3, np.float32))
    o32 = lw.optim.Adam([p32], lr=0.1)
    o32.load_state_dict(o64.state_dict())
    st = o32.state[p32]
    assert st["exp_avg"].array.dtype == np.float32 and st["exp_avg_sq"].array.dtype == np.float32
    assert st["step"].array.dtype == np.float32 and float(st["step"]) == 1.0
    # a plain-number step (an older or hand-made state dict) is accepted
    sd = o64.state_dict()
    sd["state"][0]["step"] = 1
    o32.load_state_dict(sd)
    p32.grad = lw.tensor(np.ones(3, np.float32))
    o32.step()
    assert float(o32.state[p32]["step"]) == 2.0 and p32.array.dtype == np.float32


def test_load_torch_state_dict_and_continue():
    """A torch optimizer's state dict (torch tensors) loads and the run continues as torch's."""
    lw_ps, th_ps = _params(_init(), "float64")
    to = torch.optim.Adam(th_ps, lr=0.01, amsgrad=True)
    grads = _grads(steps=20)
    for gs in grads[:10]:
        for q, g in zip(th_ps, gs):
            q.grad = torch.tensor(g)
        to.step()
    for p, q in zip(lw_ps, th_ps):
        p.array[...] = q.detach().numpy()
    lo = lw.optim.Adam(lw_ps, lr=0.5)
    lo.load_state_dict(to.state_dict())
    assert lo.param_groups[0]["amsgrad"] is True and lo.param_groups[0]["lr"] == 0.01
    for gs in grads[10:]:
        _set_grads(lw_ps, th_ps, gs, "float64")
        lo.step()
        to.step()
    _compare_params(lw_ps, th_ps, "float64", "torch state dict")


def test_load_state_dict_errors():
    ps = [lw.nn.Parameter(np.ones(2)) for _ in range(3)]
    one = lw.optim.SGD(ps, lr=0.1)
    two = lw.optim.SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        one.load_state_dict(two.state_dict())
    other = lw.optim.SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        two.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        one.load_state_dict({"param_groups": []})


def test_adamw_load_keeps_decoupled_and_amsgrad_state_check():
    p = lw.nn.Parameter(np.ones(2))
    adam = lw.optim.Adam([p], weight_decay=0.1)
    p.grad = lw.tensor(np.ones(2))
    adam.step()
    adamw = lw.optim.AdamW([lw.nn.Parameter(np.ones(2))])
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    adam.param_groups[0]["amsgrad"] = True
    with pytest.raises(RuntimeError, match="max_exp_avg_sq"):
        adam.step()


def test_named_parameters_give_param_names():
    a, b = lw.nn.Parameter(np.ones(2)), lw.nn.Parameter(np.ones(3))
    opt = lw.optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["params"][0] is a
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        lw.optim.SGD([("w", a), b])
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [lw.nn.Parameter(np.ones(1))]})
    sd = opt.state_dict()
    del sd["param_groups"][0]["param_names"]       # a state dict saved without names
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]


# ---------------------------------------------------------------------- errors & misc
def _both_raise(exc, match, build):
    """The same bad call raises the same error in torch and in layerwise."""
    with pytest.raises(exc, match=match):
        build(torch, torch.zeros(2, requires_grad=True))
    with pytest.raises(exc, match=match):
        build(lw, lw.nn.Parameter(np.zeros(2)))


@pytest.mark.parametrize("build, match", [
    (lambda m, p: m.optim.SGD([p], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda m, p: m.optim.SGD([p], momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda m, p: m.optim.SGD([p], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda m, p: m.optim.SGD([p], nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda m, p: m.optim.SGD([p], momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda m, p: m.optim.Adam([p], lr=-1e-3), r"Invalid learning rate: -0.001"),
    (lambda m, p: m.optim.Adam([p], eps=-1e-8), r"Invalid epsilon value: -1e-08"),
    (lambda m, p: m.optim.Adam([p], betas=(1.0, 0.999)), r"Invalid beta parameter at index 0: 1.0"),
    (lambda m, p: m.optim.AdamW([p], betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1"),
    (lambda m, p: m.optim.AdamW([p], weight_decay=-0.01), r"Invalid weight_decay value: -0.01"),
    (lambda m, p: m.optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    (lambda m, p: m.optim.Adam([{"params": [p]}, {"params": [p]}]), "some parameters appear in more than one parameter group"),
    (lambda m, p: m.optim.SGD([p * 2], lr=0.1), "can't optimize a non-leaf Tensor"),
])
def test_argument_errors_match_torch(build, match):
    _both_raise(ValueError, match, build)


@pytest.mark.parametrize("build, match", [
    (lambda m, p: m.optim.SGD(p, lr=0.1), "should be an iterable of Tensors or dicts"),
    (lambda m, p: m.optim.SGD([p, 3.0], lr=0.1), "optimizer can only optimize Tensors"),
    (lambda m, p: m.optim.SGD([{"params": {p}}], lr=0.1), "ordered collections"),
    (lambda m, p: m.optim.SGD([p]).add_param_group([p]), "param_group must be a dict"),
])
def test_type_errors_match_torch(build, match):
    _both_raise(TypeError, match, build)


def test_layerwise_only_errors():
    with pytest.raises(TypeError, match="floating-point Tensors.*int64"):
        lw.optim.SGD([lw.tensor([1, 2])], lr=0.1)
    p = lw.nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):   # per-group options too
        lw.optim.Adam([{"params": [p], "lr": -1}])
    with pytest.raises(ValueError, match="Nesterov"):
        lw.optim.SGD([{"params": [p], "momentum": 0}], momentum=0.9, nesterov=True)
    opt = lw.optim.SGD([p], lr=0.1)
    p.grad = lw.tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a gradient of shape \(3,\)"):
        opt.step()
    with pytest.raises(NotImplementedError, match="fused"):
        lw.optim.Adam([p], fused=True)


def test_required_option_and_custom_optimizer():
    class Plain(lw.optim.Optimizer):
        def __init__(self, params, lr=lw.optim.required):
            super().__init__(params, dict(lr=lr))

        def _group_options(self, group):
            return group["lr"]

        def _update(self, p, grad, lr):
            p.array -= lr * grad

    p, q = lw.nn.Parameter(np.ones(2)), lw.nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        Plain([p])
    opt = Plain([{"params": [p], "lr": 0.5}])
    p.grad = lw.tensor(np.ones(2))
    opt.step()
    assert np.array_equal(p.array, np.full(2, 0.5)) and p._version[0] == 1
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        opt.add_param_group({"params": [q]})

    class NoStep(lw.optim.Optimizer):
        pass

    opt = NoStep([q], {})
    q.grad = lw.tensor(np.ones(2))
    with pytest.raises(NotImplementedError):
        opt.step()


def test_duplicate_parameter_warns():
    p = lw.nn.Parameter(np.ones(2))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        lw.optim.SGD([p, p], lr=0.1)


def test_repr_lists_groups():
    p = lw.nn.Parameter(np.ones(2))
    r = repr(lw.optim.SGD([p], lr=0.1, momentum=0.9))
    assert r.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in r and "momentum: 0.9" in r
    assert r.endswith(")")


def test_optimizer_pickles_with_its_parameters():
    p = lw.nn.Parameter(np.ones(2))
    opt = lw.optim.Adam([p], lr=0.1)
    p.grad = lw.tensor(np.ones(2))
    opt.step()
    p2, opt2 = pickle.loads(pickle.dumps((p, opt)))
    assert opt2.param_groups[0]["params"][0] is p2 and p2 in opt2.state
    p2.grad = lw.tensor(np.ones(2))
    p.grad = lw.tensor(np.ones(2))
    opt.step()
    opt2.step()
    assert np.array_equal(p.array, p2.array)


# ---------------------------------------------------------------------- end to end
@pytest.mark.parametrize("make", [
    lambda ps: lw.optim.SGD(ps, lr=0.1),
    lambda ps: lw.optim.SGD(ps, lr=0.05, momentum=0.5, nesterov=True),
    lambda ps: lw.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.5, weight_decay=1e-3),
    lambda ps: lw.optim.Adam(ps, lr=0.05),
    lambda ps: lw.optim.Adam(ps, lr=0.05, amsgrad=True),
    lambda ps: lw.optim.AdamW(ps, lr=0.05),
], ids=["sgd", "nesterov", "sgd-damp-wd", "adam", "amsgrad", "adamw"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_regression_loss_decreases(make, dtype):
    x, y = _regression_data(dtype)
    lx, ly = lw.tensor(x), lw.tensor(y)
    w = lw.nn.Parameter(np.zeros((3, 1), NP[dtype]))
    b = lw.nn.Parameter(np.zeros(1, NP[dtype]))
    opt = make([w, b])
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = (lx @ w + b - ly).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0], f"loss {losses[0]:.3g} -> {losses[-1]:.3g}"
    assert all(l2 <= l1 for l1, l2 in zip(losses[:10], losses[1:11])), "loss did not decrease"
    assert w.array.dtype == NP[dtype] and b.array.dtype == NP[dtype]
    assert np.allclose(w.array.ravel(), [1.5, -2.0, 0.5], atol=0.1)


def test_training_a_linear_module_matches_torch():
    """Module parameters (a generator) and named_parameters, trained in both libraries: same losses."""
    x, y = _regression_data("float32")
    torch.manual_seed(0)
    th_m = torch.nn.Linear(3, 1)
    lw_m = lw.nn.Linear(3, 1)
    for name, q in th_m.named_parameters():
        getattr(lw_m, name).array[...] = q.detach().numpy()
    lo = lw.optim.AdamW(lw_m.named_parameters(), lr=0.05, amsgrad=True)
    to = torch.optim.AdamW(th_m.named_parameters(), lr=0.05, amsgrad=True)
    assert lo.param_groups[0]["param_names"] == to.param_groups[0]["param_names"] == ["weight", "bias"]
    lx, ly, tx, ty = lw.tensor(x), lw.tensor(y), torch.tensor(x), torch.tensor(y)
    for step in range(50):
        lo.zero_grad()
        to.zero_grad()
        ll = (lw_m(lx) - ly).pow(2).mean()
        tl = (th_m(tx) - ty).pow(2).mean()
        ll.backward()
        tl.backward()
        lo.step()
        to.step()
        assert abs(ll.item() - tl.item()) <= 1e-4 * abs(tl.item()), f"step {step}"
    assert tl.item() < 0.05 * (ty - ty.mean()).pow(2).mean().item()
    sgd = lw.optim.SGD(lw_m.parameters(), lr=0.1)
    assert [p.shape for p in sgd.param_groups[0]["params"]] == [(1, 3), (1,)]
