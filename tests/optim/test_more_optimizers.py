"""RMSprop and Adagrad against torch.optim: identical gradients in, identical parameters out.

Every option combination is fed the same fixed random gradient sequence in both libraries
and must track torch's parameters step for step over 100 steps (float64 within 1e-10,
float32 within 1e-5 relative to the whole parameter vector), and torch's state at the end.
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
    """The shared gradient sequence with mean 0.3, so the centered variance estimate matters."""
    return grad_sequence(shapes, steps, seed, mean=0.3)


def _track(cls, kwargs, dtype, th_kwargs=None, steps=STEPS, shapes=SHAPES):
    """Run both optimizers on the same gradients; compare params every step and state at the end."""
    lw_ps, th_ps = _params(_init(shapes), dtype)
    lo = getattr(lw.optim, cls)(lw_ps, **kwargs)
    to = getattr(torch.optim, cls)(th_ps, **(kwargs if th_kwargs is None else th_kwargs))
    what = f"{cls}({kwargs}) [{dtype}]"
    for t, gs in enumerate(_grads(shapes, steps=steps)):
        _set_grads(lw_ps, th_ps, gs)
        lo.step()
        to.step()
        _compare_params(lw_ps, th_ps, dtype, f"{what} step {t}")
    _compare_state(lo, to, lw_ps, th_ps, dtype, what)
    return lw_ps, th_ps


def _ids(k):
    return ",".join(f"{a}={b}" for a, b in k.items()) or "default"


RMSPROP_CASES = [
    dict(),                                                  # lr 1e-2, alpha 0.99, eps 1e-8
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, maximize=True),
    dict(lr=0.005, momentum=0.8, centered=True),
    dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=0.05, momentum=0.5, centered=True, maximize=True),
    dict(lr=0.01, alpha=0.3, centered=True),                # weight 1 − α ≥ 0.5: lerp's other form
    dict(lr=0.01, alpha=0.0, momentum=0.3),                 # α = 0: plain normalized steps
]

ADAGRAD_CASES = [
    dict(),                                                  # lr 1e-2, eps 1e-10
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, maximize=True),
    dict(lr=0.1, eps=1e-3),
    dict(lr=0.2, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-6,
         maximize=True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=_ids)
def test_rmsprop_tracks_torch(kwargs, dtype):
    _track("RMSprop", kwargs, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", ADAGRAD_CASES, ids=_ids)
def test_adagrad_tracks_torch(kwargs, dtype):
    _track("Adagrad", kwargs, dtype)


def test_tracking_catches_a_wrong_option():
    """The harness can fail: a small difference in any one option is detected."""
    for cls, ours, theirs in [
        ("RMSprop", dict(lr=0.01), dict(lr=0.01, centered=True)),
        ("RMSprop", dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.89)),
        ("RMSprop", dict(lr=0.01, alpha=0.99), dict(lr=0.01, alpha=0.98)),
        ("Adagrad", dict(lr=0.1), dict(lr=0.1, lr_decay=1e-3)),
        ("Adagrad", dict(lr=0.1), dict(lr=0.1, initial_accumulator_value=1e-3)),
    ]:
        with pytest.raises(AssertionError):
            _track(cls, ours, "float64", th_kwargs=theirs, steps=20)


def test_options_change_the_trajectory():
    """Sanity for the cases above: each option moves torch's parameters far beyond the tolerance."""
    def final(cls, **kw):
        _, th_ps = _track(cls, kw, "float64", steps=30)
        return np.concatenate([q.detach().numpy().ravel() for q in th_ps])
    base = final("RMSprop", lr=0.01)
    for kw in (dict(centered=True), dict(momentum=0.9), dict(weight_decay=0.1), dict(maximize=True)):
        assert np.abs(final("RMSprop", lr=0.01, **kw) - base).max() > 1e-4, kw
    base = final("Adagrad", lr=0.1)
    for kw in (dict(lr_decay=0.05), dict(weight_decay=0.1), dict(initial_accumulator_value=0.5),
               dict(maximize=True)):
        assert np.abs(final("Adagrad", lr=0.1, **kw) - base).max() > 1e-4, kw


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_param_groups_with_different_options_track_torch(dtype):
    for cls, groups, defaults in [
        ("RMSprop", [{"lr": 0.02, "centered": True}, {"momentum": 0.9, "weight_decay": 0.1}],
         dict(lr=0.01, alpha=0.9)),
        # torch seeds every group's accumulator with the constructor's initial_accumulator_value
        ("Adagrad", [{"lr": 0.3, "lr_decay": 0.1, "initial_accumulator_value": 5.0},
                     {"weight_decay": 0.2, "maximize": True}], dict(lr=0.1, initial_accumulator_value=0.2)),
    ]:
        lw_ps, th_ps = _params(_init(), dtype)
        mk = lambda lib, ps: getattr(lib.optim, cls)([{"params": ps[:2], **groups[0]},
                                                      {"params": ps[2:], **groups[1]}], **defaults)
        lo, to = mk(lw, lw_ps), mk(torch, th_ps)
        for t, gs in enumerate(_grads(steps=40)):
            _set_grads(lw_ps, th_ps, gs)
            lo.step()
            to.step()
            _compare_params(lw_ps, th_ps, dtype, f"{cls} groups step {t}")
        _compare_state(lo, to, lw_ps, th_ps, dtype, f"{cls} groups")


def test_adagrad_state_exists_before_the_first_step_and_added_groups_start_lazily():
    lw_ps, th_ps = _params(_init(), "float64")
    lo = lw.optim.Adagrad(lw_ps[:2], lr=0.1, initial_accumulator_value=0.25)
    to = torch.optim.Adagrad(th_ps[:2], lr=0.1, initial_accumulator_value=0.25)
    assert sorted(lo.state_dict()["state"]) == sorted(to.state_dict()["state"]) == [0, 1]
    _compare_state(lo, to, lw_ps[:2], th_ps[:2], "float64", "Adagrad at construction")
    assert np.array_equal(lo.state[lw_ps[0]]["sum"].array, np.full((4, 3), 0.25))
    for t, gs in enumerate(_grads(steps=30)):
        if t == 10:
            lo.add_param_group({"params": lw_ps[2:], "lr": 0.05, "initial_accumulator_value": 9.0})
            to.add_param_group({"params": th_ps[2:], "lr": 0.05, "initial_accumulator_value": 9.0})
            assert lw_ps[2] not in lo.state and th_ps[2] not in to.state
        if t == 20:
            for g in lo.param_groups + to.param_groups:
                g["lr"] *= 0.5                       # what a scheduler does
        _set_grads(lw_ps, th_ps, gs)
        lo.step()
        to.step()
        _compare_params(lw_ps, th_ps, "float64", f"Adagrad add_param_group step {t}")
    _compare_state(lo, to, lw_ps, th_ps, "float64", "Adagrad add_param_group")
    assert float(lo.state[lw_ps[2]]["step"]) == 20.0 and float(lo.state[lw_ps[0]]["step"]) == 30.0


def test_params_without_grad_are_skipped():
    a, b = lw.nn.Parameter(np.ones(3)), lw.nn.Parameter(np.ones(2))
    for make in (lambda ps: lw.optim.RMSprop(ps, momentum=0.5), lambda ps: lw.optim.Adagrad(ps)):
        a.grad, b.grad = lw.tensor(np.ones(3)), None
        opt = make([a, b])
        va, vb, b0 = a._version[0], b._version[0], b.array.copy()
        opt.step()
        assert a._version[0] == va + 1 and b._version[0] == vb and np.array_equal(b.array, b0)
    rms = lw.optim.RMSprop([a, b])
    a.grad = lw.tensor(np.ones(3))
    rms.step()
    assert b not in rms.state and len(rms.state) == 1


@pytest.mark.parametrize("make", [
    lambda ps: lw.optim.RMSprop(ps, lr=0.1, momentum=0.9, centered=True, weight_decay=0.1),
    lambda ps: lw.optim.Adagrad(ps, lr=0.1, lr_decay=0.1, weight_decay=0.1, maximize=True),
], ids=["RMSprop", "Adagrad"])
def test_float32_stays_float32_and_lr_may_be_a_scalar_or_tensor(make):
    p = lw.nn.Parameter(np.ones((2, 3), np.float32))
    opt = make([p])
    for i, lr in enumerate([0.1, np.float64(0.05), lw.tensor(0.02, dtype=lw.float64)]):
        opt.param_groups[0]["lr"] = lr
        p.grad = lw.tensor(np.full((2, 3), 0.5, np.float32))
        opt.step()
        assert p.array.dtype == np.float32, f"step {i}: param became {p.array.dtype}"
    for k, v in opt.state[p].items():
        assert v.array.dtype == np.float32, f"state {k} is {v.array.dtype}"
        assert v.shape == (() if k == "step" else p.shape)


def test_step_counter_dtype_follows_default_dtype_like_torch():
    lw.set_default_dtype(lw.float64)
    try:
        p = lw.nn.Parameter(np.ones(2, np.float32))
        for opt in (lw.optim.RMSprop([p]), lw.optim.Adagrad([p])):
            p.grad = lw.tensor(np.ones(2, np.float32))
            opt.step()
            assert opt.state[p]["step"].array.dtype == np.float64
    finally:
        lw.set_default_dtype(lw.float32)


def test_rmsprop_state_missing_for_an_option_turned_on_later_is_an_error():
    p = lw.nn.Parameter(np.ones(2))
    opt = lw.optim.RMSprop([p])
    p.grad = lw.tensor(np.ones(2))
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9
    with pytest.raises(RuntimeError, match="'momentum_buffer'"):
        opt.step()
    opt.param_groups[0].update(momentum=0, centered=True)
    with pytest.raises(RuntimeError, match="'grad_avg'"):
        opt.step()


def test_closure_returns_the_loss():
    w = lw.nn.Parameter(np.zeros(3))
    x = lw.tensor(np.array([1.0, -2.0, 0.5]))
    for opt in (lw.optim.RMSprop([w], lr=0.05), lw.optim.Adagrad([w], lr=0.5)):
        def closure():
            opt.zero_grad()
            loss = ((w - x) ** 2).sum()
            loss.backward()
            return loss
        losses = [opt.step(closure).item() for _ in range(60)]
        assert losses[-1] < 0.05 * losses[0]


# ---------------------------------------------------------------------- state dicts
def _make_groups(lib, cls, ps):
    if cls == "RMSprop":
        return lib.optim.RMSprop([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02, "centered": True}],
                                 lr=0.01, momentum=0.9)
    return lib.optim.Adagrad([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.2, "lr_decay": 0.01}],
                             lr=0.1, weight_decay=0.05, initial_accumulator_value=0.1)


@pytest.mark.parametrize("cls", ["RMSprop", "Adagrad"])
def test_state_dict_layout_matches_torch(cls):
    lw_ps, th_ps = _params(_init(), "float32")
    lo, to = _make_groups(lw, cls, lw_ps), _make_groups(torch, cls, th_ps)
    for gs in _grads(steps=3):
        _set_grads(lw_ps, th_ps, gs)
        lo.step()
        to.step()
    ls, ts = lo.state_dict(), to.state_dict()
    assert sorted(ls) == ["param_groups", "state"]
    assert sorted(ls["state"]) == sorted(ts["state"]) == [0, 1, 2]
    for i in ts["state"]:
        assert sorted(ls["state"][i]) == sorted(ts["state"][i])
        for k, v in ts["state"][i].items():
            mine = ls["state"][i][k]
            assert isinstance(mine, lw.Tensor)
            assert mine.array.dtype == v.numpy().dtype and mine.shape == tuple(v.shape)
    torch_only = {"foreach", "capturable", "differentiable", "fused"}
    for lg, tg in zip(ls["param_groups"], ts["param_groups"]):
        assert set(lg) == set(tg) - torch_only
        for k in lg:
            assert lg[k] == tg[k], f"group option {k}: {lg[k]} != torch's {tg[k]}"


@pytest.mark.parametrize("cls", ["RMSprop", "Adagrad"])
@pytest.mark.parametrize("via", ["deepcopy", "pickle"])
def test_state_dict_round_trip_continues_identically(cls, via):
    init, grads = _init(), _grads(steps=40)
    ref_ps = [lw.nn.Parameter(a.copy()) for a in init]
    run_ps = [lw.nn.Parameter(a.copy()) for a in init]
    ref, run = _make_groups(lw, cls, ref_ps), _make_groups(lw, cls, run_ps)

    def feed(ps, opt, gs):
        for p, g in zip(ps, gs):
            p.grad = lw.tensor(g)
        opt.step()

    for gs in grads[:20]:
        feed(ref_ps, ref, gs)
        feed(run_ps, run, gs)
    saved = run.state_dict()
    saved = copy.deepcopy(saved) if via == "deepcopy" else pickle.loads(pickle.dumps(saved))
    new_ps = [lw.nn.Parameter(p.array.copy()) for p in run_ps]
    new = _make_groups(lw, cls, new_ps)
    new.param_groups[1]["lr"] = 123.0              # overwritten by the loaded options
    new.load_state_dict(saved)
    assert new.param_groups[1]["lr"] == ref.param_groups[1]["lr"]
    for gs in grads[20:]:
        feed(ref_ps, ref, gs)
        feed(new_ps, new, gs)
    for a, b in zip(new_ps, ref_ps):
        assert np.array_equal(a.array, b.array), "resumed run differs from the uninterrupted one"
        for k in ref.state[b]:
            assert np.array_equal(new.state[a][k].array, ref.state[b][k].array)
    assert float(new.state[new_ps[0]]["step"]) == 40.0


@pytest.mark.parametrize("cls", ["RMSprop", "Adagrad"])
def test_load_torch_state_dict_and_continue(cls):
    lw_ps, th_ps = _params(_init(), "float64")
    to = _make_groups(torch, cls, th_ps)
    grads = _grads(steps=30)
    for gs in grads[:15]:
        for q, g in zip(th_ps, gs):
            q.grad = torch.tensor(g)
        to.step()
    for p, q in zip(lw_ps, th_ps):
        p.array[...] = q.detach().numpy()
    lo = _make_groups(lw, cls, lw_ps)
    lo.load_state_dict(to.state_dict())
    for gs in grads[15:]:
        _set_grads(lw_ps, th_ps, gs)
        lo.step()
        to.step()
        _compare_params(lw_ps, th_ps, "float64", f"{cls} from a torch state dict")
    _compare_state(lo, to, lw_ps, th_ps, "float64", f"{cls} from a torch state dict")


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("build, match", [
    (lambda m, p: m.optim.RMSprop([p], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda m, p: m.optim.RMSprop([p], eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda m, p: m.optim.RMSprop([p], momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda m, p: m.optim.RMSprop([p], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda m, p: m.optim.RMSprop([p], alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda m, p: m.optim.Adagrad([p], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda m, p: m.optim.Adagrad([p], lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    (lambda m, p: m.optim.Adagrad([p], weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda m, p: m.optim.Adagrad([p], initial_accumulator_value=-1.0),
     "Invalid initial_accumulator_value value: -1.0"),
    (lambda m, p: m.optim.Adagrad([p], eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda m, p: m.optim.Adagrad([], lr=0.1), "optimizer got an empty parameter list"),
])
def test_argument_errors_match_torch(build, match):
    with pytest.raises(ValueError, match=match):
        build(torch, torch.zeros(2, requires_grad=True))
    with pytest.raises(ValueError, match=match):
        build(lw, lw.nn.Parameter(np.zeros(2)))


def test_layerwise_only_errors():
    p = lw.nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="Invalid alpha value: -1"):      # per-group options too
        lw.optim.RMSprop([{"params": [p], "alpha": -1}])
    with pytest.raises(ValueError, match="Invalid lr_decay value: -1"):
        lw.optim.Adagrad([{"params": [p], "lr_decay": -1}])
    with pytest.raises(NotImplementedError, match="capturable"):
        lw.optim.RMSprop([p], capturable=True)
    with pytest.raises(NotImplementedError, match="fused"):
        lw.optim.Adagrad([p], fused=True)
    opt = lw.optim.Adagrad([p])
    p.grad = lw.tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a gradient of shape \(3,\)"):
        opt.step()


# ---------------------------------------------------------------------- end to end
@pytest.mark.parametrize("make", [
    lambda ps: lw.optim.RMSprop(ps, lr=0.01),
    lambda ps: lw.optim.RMSprop(ps, lr=0.005, momentum=0.5, centered=True),
    lambda ps: lw.optim.Adagrad(ps, lr=0.5),
], ids=["rmsprop", "rmsprop-centered-momentum", "adagrad"])
def test_training_a_linear_module_matches_torch(make):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    torch.manual_seed(0)
    th_m, lw_m = torch.nn.Linear(3, 1), lw.nn.Linear(3, 1)
    for name, q in th_m.named_parameters():
        getattr(lw_m, name).array[...] = q.detach().numpy()
    lo = make(list(lw_m.parameters()))
    kw = {k: v for k, v in lo.defaults.items()}
    to = getattr(torch.optim, type(lo).__name__)(th_m.parameters(), **kw)
    lx, ly, tx, ty = lw.tensor(x), lw.tensor(y), torch.tensor(x), torch.tensor(y)
    losses = []
    for step in range(150):
        lo.zero_grad()
        to.zero_grad()
        ll = (lw_m(lx) - ly).pow(2).mean()
        tl = (th_m(tx) - ty).pow(2).mean()
        ll.backward()
        tl.backward()
        lo.step()
        to.step()
        assert abs(ll.item() - tl.item()) <= 1e-4 * abs(tl.item()) + 1e-6, f"step {step}"
        losses.append(ll.item())
    assert losses[-1] < 0.05 * losses[0], f"loss {losses[0]:.3g} -> {losses[-1]:.3g}"
