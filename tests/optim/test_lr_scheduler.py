"""layerwise.optim.lr_scheduler against torch.optim.lr_scheduler.

Each schedule runs in both libraries on optimizers with three parameter groups of different
learning rates; after construction and after every step the scheduler's ``get_last_lr()``,
``last_epoch`` and every group option (lr, initial_lr, momentum, betas, ...) must equal
torch's within 1e-12 relative (float64), over 100+ steps.
"""
import copy
import math
import pathlib
import pickle
import re
import warnings

import numpy as np
import pytest
import torch

import layerwise as lw

LRS = [0.1, 0.05, 0.3]
STEPS = 120
TORCH_ONLY = {"foreach", "capturable", "differentiable", "fused", "params"}


def _close(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def _optimizers(cls="SGD", lrs=LRS, **kw):
    """The same optimizer in both libraries, one parameter group per lr."""
    lw_ps = [lw.nn.Parameter(np.zeros(2)) for _ in lrs]
    th_ps = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in lrs]
    lo = getattr(lw.optim, cls)([{"params": [p], "lr": lr} for p, lr in zip(lw_ps, lrs)], **kw)
    to = getattr(torch.optim, cls)([{"params": [p], "lr": lr} for p, lr in zip(th_ps, lrs)], **kw)
    return lo, to


def _same_value(a, b):
    if isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(b, bool) or b is None or isinstance(b, str):
        return a == b
    return isinstance(a, (int, float)) and _close(float(a), float(b))


def _check_same(ls, ts, lo, to, what, exact=False):
    """Scheduler and optimizer groups agree with torch's: last lrs, last_epoch, every group option."""
    ll, tl = ls.get_last_lr(), ts.get_last_lr()
    assert len(ll) == len(tl), what
    for i, (a, b) in enumerate(zip(ll, tl)):
        assert type(a) is float, f"{what}: get_last_lr()[{i}] is a {type(a).__name__}"
        ok = a == b if exact else _close(a, b)
        assert ok, f"{what}: lr[{i}] {a!r} != torch's {b!r}"
    le, te = getattr(ls, "last_epoch", None), getattr(ts, "last_epoch", None)   # none for chained
    assert le == te, f"{what}: last_epoch {le} != {te}"
    for i, (lg, tg) in enumerate(zip(lo.param_groups, to.param_groups)):
        assert set(lg) - TORCH_ONLY == set(tg) - TORCH_ONLY, f"{what}: group {i} keys differ"
        for k in set(tg) - TORCH_ONLY:
            assert _same_value(lg[k], tg[k]), f"{what}: group {i} {k} {lg[k]!r} != torch's {tg[k]!r}"


def _run(make, steps=STEPS, cls="SGD", opt_kw=None, lrs=LRS, exact=False):
    lo, to = _optimizers(cls, lrs, **(opt_kw or {}))
    ls, ts = make(lw, lo), make(torch, to)
    _check_same(ls, ts, lo, to, "after construction", exact)
    lr_seq, mom_seq = [ls.get_last_lr()], [_momentum(lo)]
    for t in range(steps):
        lo.step()
        to.step()
        ls.step()
        ts.step()
        _check_same(ls, ts, lo, to, f"step {t + 1}", exact)
        lr_seq.append(ls.get_last_lr())
        mom_seq.append(_momentum(lo))
    return ls, ts, lo, to, lr_seq, mom_seq


def _momentum(opt):
    """Group 0's momentum or β₁ (None if the optimizer has neither)."""
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g.get("momentum")


def _changes(lr_seq):
    """How many steps changed group 0's lr (to check the schedule actually did something)."""
    return sum(a[0] != b[0] for a, b in zip(lr_seq, lr_seq[1:]))


CASES = {
    "lambda": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda-per-group": lambda m, o: m.optim.lr_scheduler.LambdaLR(
        o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e, lambda e: (e % 10 + 1) / 10]),
    "multiplicative": lambda m, o: m.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.97),
    "multiplicative-per-group": lambda m, o: m.optim.lr_scheduler.MultiplicativeLR(
        o, [lambda e: 0.99, lambda e: 1.0 if e % 2 else 0.9, lambda e: 1 - 1 / (e + 10)]),
    "step": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "step-every-epoch": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.93),
    "step-default-gamma": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=30),
    "multistep": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, [10, 30, 30, 80], gamma=0.5),
    "multistep-default": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, milestones=[5, 50]),
    "constant": lambda m, o: m.optim.lr_scheduler.ConstantLR(o),
    "constant-half": lambda m, o: m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=20),
    "linear": lambda m, o: m.optim.lr_scheduler.LinearLR(o),
    "linear-warmup": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=30),
    "linear-decay": lambda m, o: m.optim.lr_scheduler.LinearLR(o, 1.0, 0.1, total_iters=50),
    "linear-to-zero": lambda m, o: m.optim.lr_scheduler.LinearLR(o, 0.5, 0.0, total_iters=20),
    "exponential": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.95),
    "exponential-fast": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, 0.5),
    "polynomial": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o),
    "polynomial-square": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, total_iters=50, power=2.0),
    "cosine": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50),
    "cosine-eta-min": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.01),
    "cosine-short": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.001),
    "warm-restarts": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10),
    "warm-restarts-mult": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.001),
    "sequential": lambda m, o: m.optim.lr_scheduler.SequentialLR(o, [
        m.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10),
        m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=90)], milestones=[10]),
    "sequential-three": lambda m, o: m.optim.lr_scheduler.SequentialLR(o, [
        m.optim.lr_scheduler.ConstantLR(o, factor=0.2, total_iters=10),
        m.optim.lr_scheduler.ExponentialLR(o, gamma=0.97),
        m.optim.lr_scheduler.StepLR(o, step_size=9, gamma=0.7)], milestones=[5, 40]),
    "chained": lambda m, o: m.optim.lr_scheduler.ChainedScheduler([
        m.optim.lr_scheduler.ConstantLR(o, factor=0.1, total_iters=5),
        m.optim.lr_scheduler.ExponentialLR(o, gamma=0.97)]),
    "cyclic": lambda m, o: m.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=7),
    "cyclic-triangular2": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, [0.01, 0.02, 0.03], 0.5, step_size_up=5, step_size_down=11, mode="triangular2"),
    "cyclic-exp-range": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, 0.001, [0.1, 0.2, 0.3], 10, mode="exp_range", gamma=0.98, cycle_momentum=False),
    "cyclic-custom-cycle": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, 4, 6, scale_fn=lambda c: 1.0 / c, base_momentum=0.5, max_momentum=0.95),
    "cyclic-custom-iterations": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, 9, 3, scale_fn=lambda t: 0.99 ** t, scale_mode="iterations"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_matches_torch(name):
    *_, lr_seq, _ = _run(CASES[name])
    assert _changes(lr_seq) >= 1, "the schedule never changed the lr: the case tests nothing"


def test_cosine_annealing_follows_torchs_recursion_bit_for_bit():
    """torch's recursive cosine differs from the closed form in the last bits; ours is torch's."""
    for T, eta_min in [(50, 0.0), (30, 0.01), (7, 0.001)]:
        make = lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=eta_min)
        *_, lr_seq, _ = _run(make, steps=200, exact=True)
        closed = [[eta_min + (b - eta_min) * (1 + math.cos(math.pi * t / T)) / 2 for b in LRS]
                  for t in range(201)]
        differ = sum(a != b for row_a, row_b in zip(lr_seq, closed) for a, b in zip(row_a, row_b))
        assert differ > 50, f"T_max={T}: the recursion and the closed form agree to the bit"


def test_two_schedulers_on_one_optimizer_compose_like_torch():
    def make(m, o):
        warm = m.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=8)
        decay = m.optim.lr_scheduler.MultiStepLR(o, milestones=[20, 60], gamma=0.3)
        return warm, decay
    lo, to = _optimizers()
    lws, ths = make(lw, lo), make(torch, to)
    for t in range(100):
        lo.step()
        to.step()
        for s in lws + ths:
            s.step()
        for a, b in zip(lws + (lo,), ths + (to,)):
            if isinstance(a, lw.optim.Optimizer):
                assert all(_close(x["lr"], y["lr"]) for x, y in zip(a.param_groups, b.param_groups)), t
            else:
                _check_same(a, b, lo, to, f"composed step {t}")


# ---------------------------------------------------------------------- OneCycleLR
ONECYCLE = [
    ("SGD", dict(momentum=0.9), dict(max_lr=1.0, total_steps=120)),
    ("SGD", dict(momentum=0.9, nesterov=True), dict(max_lr=[1.0, 0.5, 2.0], total_steps=120,
                                                    anneal_strategy="linear")),
    ("SGD", dict(momentum=0.9), dict(max_lr=0.8, total_steps=120, three_phase=True)),
    ("SGD", dict(momentum=0.9), dict(max_lr=0.8, total_steps=120, three_phase=True,
                                     anneal_strategy="linear", pct_start=0.4)),
    ("Adam", dict(betas=(0.9, 0.99)), dict(max_lr=0.01, epochs=12, steps_per_epoch=10)),
    ("AdamW", dict(), dict(max_lr=[0.01, 0.02, 0.03], total_steps=120, pct_start=0.25,
                           base_momentum=[0.8, 0.85, 0.7], max_momentum=0.97, div_factor=10.0,
                           final_div_factor=100.0)),
    ("RMSprop", dict(momentum=0.5), dict(max_lr=0.05, total_steps=120, base_momentum=0.6,
                                         max_momentum=0.9, three_phase=True)),
    ("Adagrad", dict(), dict(max_lr=0.5, total_steps=120, cycle_momentum=False)),
    ("SGD", dict(momentum=0.9), dict(max_lr=1.0, total_steps=101, pct_start=0.5)),   # odd N
]


@pytest.mark.parametrize("cls, opt_kw, kw", ONECYCLE,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(ONECYCLE)])
def test_one_cycle_lr_and_momentum_match_torch(cls, opt_kw, kw):
    """Every group option is compared each step: lr, initial/max/min_lr and momentum or betas."""
    make = lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, **kw)
    n = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
    ls, ts, lo, to, lr_seq, mom_seq = _run(make, steps=n, cls=cls, opt_kw=opt_kw)
    peak = max(r[0] for r in lr_seq)
    top = kw["max_lr"][0] if isinstance(kw["max_lr"], list) else kw["max_lr"]
    assert top * 0.999 < peak <= top * (1 + 1e-12), "the cycle did not peak at max_lr"
    if kw.get("cycle_momentum", True):
        assert ls.use_beta1 == ("betas" in lo.defaults)
        low = kw.get("base_momentum", 0.85)
        low = low[0] if isinstance(low, list) else low
        assert _close(min(mom_seq), low, 1e-3) and len(set(mom_seq)) > 20, "momentum not cycled"
    else:
        assert "max_momentum" not in lo.param_groups[0]
    # stepping past total_steps is an error, as in torch
    with pytest.raises(ValueError, match=f"Tried to step {n + 1} times. The specified number of "
                                         f"total steps is {n}"):
        ts.step()
    with pytest.raises(ValueError, match=f"Tried to step {n + 1} times. The specified number of "
                                         f"total steps is {n}"):
        ls.step()


@pytest.mark.parametrize("cls, opt_kw", [("SGD", dict(momentum=0.9)), ("Adam", {}),
                                         ("RMSprop", dict(momentum=0.5))])
def test_cyclic_lr_momentum_matches_torch_and_cycles(cls, opt_kw):
    make = lambda m, o: m.optim.lr_scheduler.CyclicLR(o, 0.01, [0.1, 0.2, 0.3], 10, 20)
    ls, _, lo, _, lr_seq, mom_seq = _run(make, steps=90, cls=cls, opt_kw=opt_kw)
    assert ls.use_beta1 == (cls == "Adam")
    peaks = [t for t, lrs in enumerate(lr_seq) if lrs[0] == pytest.approx(0.1)]
    assert peaks == [10, 40, 70]                             # every 30 steps, 10 steps in
    assert max(r[2] for r in lr_seq) == pytest.approx(0.3)
    assert min(mom_seq) == pytest.approx(0.8) and mom_seq[0] == pytest.approx(0.9)
    assert mom_seq[10] == pytest.approx(0.8) and mom_seq[30] == pytest.approx(0.9)


def test_cyclic_lr_argument_errors_match_torch():
    for m in (torch, lw):
        o = _optimizers()[0 if m is lw else 1]
        with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
            m.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="cosine")
        with pytest.raises(ValueError, match="base_lr must have the same length"):
            m.optim.lr_scheduler.CyclicLR(o, [0.01, 0.02], 0.1)
        a = _optimizers("Adagrad")[0 if m is lw else 1]
        with pytest.raises(ValueError, match="must support momentum or beta1"):
            m.optim.lr_scheduler.CyclicLR(a, 0.01, 0.1)
        m.optim.lr_scheduler.CyclicLR(a, 0.01, 0.1, cycle_momentum=False)


def test_cyclic_lr_saves_a_scale_object_state_not_a_function():
    for fn, saved in ((_Halving(0.5), {"base": 0.5}), (lambda c: 1.0, None)):
        states = []
        for m in (lw, torch):
            o = _optimizers()[0 if m is lw else 1]
            states.append(m.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, scale_fn=fn).state_dict())
        assert states[0]["_scale_fn_custom"] == states[1]["_scale_fn_custom"] == saved
    o = _optimizers()[0]
    sched = lw.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, scale_fn=_Halving(0.9))
    sched.load_state_dict(states_with_base(0.25))
    assert sched._scale_fn_custom.base == 0.25


def states_with_base(base):
    o = _optimizers()[0]
    return lw.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, scale_fn=_Halving(base)).state_dict()


def test_one_cycle_momentum_is_used_by_the_optimizer():
    """The cycled momentum / β₁ feeds the optimizers' updates: parameters still track torch."""
    for cls, opt_kw in [("SGD", dict(momentum=0.9)), ("Adam", {}), ("RMSprop", dict(momentum=0.5))]:
        rng = np.random.default_rng(0)
        lw_p = lw.nn.Parameter(np.ones(4))
        th_p = torch.ones(4, dtype=torch.float64, requires_grad=True)
        lo = getattr(lw.optim, cls)([lw_p], lr=0.1, **opt_kw)
        to = getattr(torch.optim, cls)([th_p], lr=0.1, **opt_kw)
        ls = lw.optim.lr_scheduler.OneCycleLR(lo, max_lr=0.1, total_steps=60)
        ts = torch.optim.lr_scheduler.OneCycleLR(to, max_lr=0.1, total_steps=60)
        for _ in range(60):
            g = rng.normal(size=4)
            lw_p.grad, th_p.grad = lw.tensor(g), torch.tensor(g)
            lo.step()
            to.step()
            ls.step()
            ts.step()
        np.testing.assert_allclose(lw_p.array, th_p.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- ReduceLROnPlateau
def _metrics(n=150, seed=0, mode="min"):
    """A loss-like curve: fast progress, then plateaus and noise (so reductions do happen)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    curve = 1.0 / (1.0 + 0.08 * np.minimum(t, 40)) + 0.02 * np.sin(t / 3.0) + 0.005 * rng.normal(size=n)
    curve[90:100] -= 0.05                      # a late improvement
    curve = np.round(curve, 2)                 # exact repeats: "equal" must not count as better
    return [float(v) for v in (curve if mode == "min" else 1.0 - curve)]


PLATEAU = [
    dict(),
    dict(patience=2, cooldown=3, threshold=0.01),
    dict(patience=3, factor=0.5, threshold=0.05, threshold_mode="abs", min_lr=[0.01, 0.001, 0.0]),
    dict(mode="max", patience=1, cooldown=2, min_lr=1e-3, factor=0.7),
    dict(mode="max", patience=4, threshold=0.02, threshold_mode="abs", factor=0.3),
    dict(patience=0, factor=0.5, eps=0.004),       # reductions smaller than eps are skipped
    dict(patience=5, threshold=0.0),
    dict(mode="max", patience=3, threshold=0.0, threshold_mode="abs", cooldown=1),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_reduce_on_plateau_matches_torch(kw):
    lo, to = _optimizers()
    ls = lw.optim.lr_scheduler.ReduceLROnPlateau(lo, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    lrs = []
    for t, metric in enumerate(_metrics(mode=kw.get("mode", "min"))):
        lo.step()
        to.step()
        if t % 2:      # a 0-d tensor metric (as a loss usually is) works too
            ls.step(lw.tensor(metric, dtype=lw.float64))
            ts.step(torch.tensor(metric, dtype=torch.float64))
        else:
            ls.step(metric)
            ts.step(metric)
        _check_same(ls, ts, lo, to, f"step {t}")
        for k in ("best", "num_bad_epochs", "cooldown_counter"):
            assert getattr(ls, k) == getattr(ts, k), f"step {t}: {k}"
        assert ls.in_cooldown == ts.in_cooldown
        lrs.append(ls.get_last_lr()[0])
    assert len(set(lrs)) >= 3, "the lr was reduced fewer than twice: the case tests nothing"


def test_reduce_on_plateau_added_group_uses_scalar_min_lr_and_list_errors():
    lo, to = _optimizers()
    ls = lw.optim.lr_scheduler.ReduceLROnPlateau(lo, patience=0, min_lr=0.02)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, patience=0, min_lr=0.02)
    lo.add_param_group({"params": [lw.nn.Parameter(np.zeros(1))], "lr": 0.5})
    to.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5})
    for metric in (1.0, 2.0, 3.0, 4.0):
        ls.step(metric)
        ts.step(metric)
        _check_same(ls, ts, lo, to, f"added group, metric {metric}")
    assert ls.get_last_lr() == [0.02] * 4 and ls.min_lrs == [0.02] * 4
    for m, o in ((torch, to), (lw, lo)):
        fixed = m.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0, min_lr=[0.0] * 4)
        q = lw.nn.Parameter(np.zeros(1)) if m is lw else torch.zeros(1, requires_grad=True)
        o.add_param_group({"params": [q]})
        fixed.step(1.0)
        with pytest.raises(RuntimeError, match=r"The number of param groups in the `optimizer` \(5\) "
                                                r"differs from when `ReduceLROnPlateau` was initialized \(4\)"):
            fixed.step(2.0)


# ---------------------------------------------------------------------- epoch argument, resume
@pytest.mark.parametrize("name, make", [
    ("step", lambda m, o: m.optim.lr_scheduler.StepLR(o, 4, 0.5)),
    ("multistep", lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, [3, 7, 7], 0.5)),
    ("constant", lambda m, o: m.optim.lr_scheduler.ConstantLR(o, 0.5, 6)),
    ("linear", lambda m, o: m.optim.lr_scheduler.LinearLR(o, 0.2, 0.9, 8)),
    ("exponential", lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    ("polynomial", lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, 8, 1.5)),
    ("cosine", lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.01)),
    ("lambda", lambda m, o: m.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e))),
    ("warm-restarts", lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 2)),
])
def test_step_with_epoch_uses_the_closed_form_and_warns(name, make):
    lo, to = _optimizers()
    ls, ts = make(lw, lo), make(torch, to)
    epochs = [1, 2, 5, 3, 9, 12, 7, 20, 0, 15] + ([2.5, 6.25, 30.75] if name == "warm-restarts" else [])
    for e in epochs:
        lo.step()
        to.step()
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary") \
                if name != "warm-restarts" else warnings.catch_warnings():
            ls.step(e)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts.step(e)
        _check_same(ls, ts, lo, to, f"{name} step({e})")
        ls.step()                                  # and a chainable step from there
        ts.step()
        _check_same(ls, ts, lo, to, f"{name} step() after step({e})")


def test_resume_with_last_epoch():
    for make in (lambda m, o, e: m.optim.lr_scheduler.ExponentialLR(o, 0.9, last_epoch=e),
                 lambda m, o, e: m.optim.lr_scheduler.StepLR(o, 3, 0.5, last_epoch=e),
                 lambda m, o, e: m.optim.lr_scheduler.CosineAnnealingLR(o, 20, last_epoch=e),
                 lambda m, o, e: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=50, last_epoch=e)):
        lo, to = _optimizers(momentum=0.9)
        make(lw, lo, -1)
        make(torch, to, -1)
        for g in lo.param_groups + to.param_groups:
            g["lr"] *= 0.7                          # as a saved optimizer might hold
        ls, ts = make(lw, lo, 5), make(torch, to, 5)
        _check_same(ls, ts, lo, to, "resumed")
        for t in range(30):
            lo.step()
            to.step()
            ls.step()
            ts.step()
            _check_same(ls, ts, lo, to, f"resumed step {t}")


def test_resume_without_initial_lr_is_a_key_error():
    for m in (torch, lw):
        o = _optimizers()[0 if m is lw else 1]
        with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\] "
                                           "when resuming scheduler with last_epoch >= 0"):
            m.optim.lr_scheduler.StepLR(o, 3, last_epoch=4)


# ---------------------------------------------------------------------- state dicts
class _Warmup:
    """A callable object: LambdaLR saves its __dict__ (a function or lambda is not saved)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


def _drive(sched, t):
    if isinstance(sched, (lw.optim.lr_scheduler.ReduceLROnPlateau,
                          torch.optim.lr_scheduler.ReduceLROnPlateau)):
        sched.step(_metrics()[t])
    else:
        sched.step()


class _Halving:
    """A callable scale object for CyclicLR: its __dict__ is saved in the state dict."""

    def __init__(self, base):
        self.base = base

    def __call__(self, cycle):
        return self.base ** (cycle - 1)


ROUND_TRIP = {
    "cyclic": (lambda m, o: m.optim.lr_scheduler.CyclicLR(o, 0.001, 0.01, 6, 4,
                                                          scale_fn=_Halving(0.5)), "Adam", {}),
    "step": (CASES["step"], "SGD", {}),
    "multistep": (CASES["multistep"], "SGD", {}),
    "linear": (CASES["linear-warmup"], "SGD", {}),
    "cosine": (CASES["cosine-eta-min"], "SGD", {}),
    "warm-restarts": (CASES["warm-restarts-mult"], "SGD", {}),
    "sequential": (CASES["sequential"], "SGD", {}),
    "chained": (CASES["chained"], "SGD", {}),
    "lambda-object": (lambda m, o: m.optim.lr_scheduler.LambdaLR(o, [_Warmup(20), _Warmup(5),
                                                                    lambda e: 0.98 ** e]), "SGD", {}),
    "one-cycle": (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, [0.01, 0.02, 0.03], total_steps=100,
                                                               three_phase=True), "Adam", {}),
    "plateau": (lambda m, o: m.optim.lr_scheduler.ReduceLROnPlateau(o, patience=2, cooldown=2,
                                                                    min_lr=[0.0, 0.01, 0.0]), "SGD", {}),
}


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_keys_match_torch(name):
    make, cls, kw = ROUND_TRIP[name]
    lo, to = _optimizers(cls, **kw)
    ls, ts = make(lw, lo), make(torch, to)
    for t in range(5):
        lo.step()
        to.step()
        _drive(ls, t)
        _drive(ts, t)
    lsd, tsd = ls.state_dict(), ts.state_dict()
    assert "optimizer" not in lsd
    assert set(lsd) == set(tsd)
    for k in ("last_epoch", "base_lrs", "_step_count", "_last_lr", "lr_lambdas", "best", "min_lrs"):
        if k in tsd:
            assert lsd[k] == tsd[k], k
    if "_schedulers" in tsd:
        for a, b in zip(lsd["_schedulers"], tsd["_schedulers"]):
            assert set(a) == set(b)


@pytest.mark.parametrize("name", list(ROUND_TRIP))
@pytest.mark.parametrize("via", ["deepcopy", "pickle"])
def test_state_dict_round_trip_mid_schedule_continues_identically(name, via):
    make, cls, kw = ROUND_TRIP[name]
    ref_o, _ = _optimizers(cls, **kw)
    ref = make(lw, ref_o)
    run_o, _ = _optimizers(cls, **kw)
    run = make(lw, run_o)
    for t in range(40):
        for o, s in ((ref_o, ref), (run_o, run)):
            o.step()
            _drive(s, t)
    saved = {"opt": run_o.state_dict(), "sched": run.state_dict()}
    saved = copy.deepcopy(saved) if via == "deepcopy" else pickle.loads(pickle.dumps(saved))
    # a fresh process: new optimizer and scheduler (constructed first, as torch advises), then load
    new_o, _ = _optimizers(cls, **kw)
    new = make(lw, new_o)
    new_o.load_state_dict(saved["opt"])
    new.load_state_dict(saved["sched"])
    if name == "lambda-object":
        new.lr_lambdas[0].n = new.lr_lambdas[1].n = 99          # overwritten by the loaded state
        new.load_state_dict(saved["sched"])
        assert new.lr_lambdas[0].n == 20 and new.lr_lambdas[1].n == 5
        assert saved["sched"]["lr_lambdas"] == [{"n": 20}, {"n": 5}, None]
    assert new.get_last_lr() == ref.get_last_lr()
    for t in range(40, 100):
        for o, s in ((ref_o, ref), (new_o, new)):
            o.step()
            _drive(s, t)
        assert new.get_last_lr() == ref.get_last_lr(), f"step {t}: resumed schedule differs"
        assert [g["lr"] for g in new_o.param_groups] == [g["lr"] for g in ref_o.param_groups]
        if cls == "Adam":
            assert [g["betas"] for g in new_o.param_groups] == [g["betas"] for g in ref_o.param_groups]


@pytest.mark.parametrize("name", ["multistep", "cosine", "warm-restarts", "sequential", "one-cycle",
                                  "plateau", "lambda-object", "cyclic"])
def test_loads_torchs_state_dicts_and_continues_as_torch(name):
    make, cls, kw = ROUND_TRIP[name]
    lo, to = _optimizers(cls, **kw)
    ts = make(torch, to)
    for t in range(30):
        to.step()
        _drive(ts, t)
    ls = make(lw, lo)
    lo.load_state_dict(to.state_dict())
    ls.load_state_dict(ts.state_dict())
    _check_same(ls, ts, lo, to, "after loading torch's state")
    for t in range(30, 90):
        lo.step()
        to.step()
        _drive(ls, t)
        _drive(ts, t)
        _check_same(ls, ts, lo, to, f"step {t} after loading torch's state")


def test_torch_loads_layerwise_state_dicts():
    make, cls, kw = ROUND_TRIP["one-cycle"]
    lo, to = _optimizers(cls, **kw)
    ls = make(lw, lo)
    for t in range(30):
        lo.step()
        ls.step()
    ts = make(torch, to)
    to.load_state_dict({"state": {}, "param_groups": [
        {**g, "params": tg["params"]} for g, tg in zip(lo.state_dict()["param_groups"],
                                                       to.state_dict()["param_groups"])]})
    ts.load_state_dict(ls.state_dict())
    for t in range(30, 100):
        lo.step()
        to.step()
        ls.step()
        ts.step()
        _check_same(ls, ts, lo, to, f"torch after loading ours, step {t}")


# ---------------------------------------------------------------------- warnings, optimizer hooks
def test_stepping_the_scheduler_before_the_optimizer_warns_like_torch():
    for m in (torch, lw):
        o = _optimizers()[0 if m is lw else 1]
        s = m.optim.lr_scheduler.StepLR(o, 2)
        with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                             r"`optimizer.step\(\)`"):
            s.step()
        o2 = _optimizers()[0 if m is lw else 1]
        s2 = m.optim.lr_scheduler.StepLR(o2, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(5):
                o2.step()
                s2.step()
        assert o2._opt_called is True and getattr(o2.step, "_wrapped_by_lr_sched", False)


def test_replacing_optimizer_step_after_construction_warns_like_torch():
    for m in (torch, lw):
        o = _optimizers()[0 if m is lw else 1]
        s = m.optim.lr_scheduler.ExponentialLR(o, 0.9)
        o.step = lambda closure=None: None
        with pytest.warns(UserWarning, match=r"`optimizer.step\(\)` has been overridden after "
                                             "learning rate scheduler initialization"):
            s.step()


def test_calling_get_lr_directly_warns_like_torch():
    for m in (torch, lw):
        o = _optimizers()[0 if m is lw else 1]
        s = m.optim.lr_scheduler.StepLR(o, 2)
        with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
            s.get_lr()


def test_optimizer_with_a_scheduler_still_pickles_and_steps():
    p = lw.nn.Parameter(np.ones(2))
    opt = lw.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = lw.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    p.grad = lw.tensor(np.ones(2))
    opt.step()
    sched.step()
    for clone in (pickle.loads(pickle.dumps((p, opt, sched))), copy.deepcopy((p, opt, sched))):
        p2, opt2, sched2 = clone
        assert sched2.optimizer is opt2 and opt2.step.optimizer is opt2
        p2.grad = lw.tensor(np.ones(2))
        opt2.step()
        sched2.step()
        assert opt2.param_groups[0]["lr"] == 0.025 and opt.param_groups[0]["lr"] == 0.05
        assert opt2.param_groups[0]["params"][0] is p2 and not np.array_equal(p2.array, p.array)
    # a second scheduler does not wrap the step twice
    wrapped = opt.step
    lw.optim.lr_scheduler.StepLR(opt, 3)
    assert opt.step is wrapped


def test_tensor_learning_rates_are_updated_in_place_like_torch():
    lw_p, th_p = lw.nn.Parameter(np.zeros(2)), torch.zeros(2, dtype=torch.float64, requires_grad=True)
    lw_lr, th_lr = lw.tensor(0.1, dtype=lw.float64), torch.tensor(0.1, dtype=torch.float64)
    lo, to = lw.optim.SGD([lw_p], lr=lw_lr), torch.optim.SGD([th_p], lr=th_lr)
    ls = lw.optim.lr_scheduler.CosineAnnealingLR(lo, T_max=10)
    ts = torch.optim.lr_scheduler.CosineAnnealingLR(to, T_max=10)
    assert isinstance(lo.param_groups[0]["initial_lr"], lw.Tensor)
    assert lo.param_groups[0]["initial_lr"] is not lw_lr
    for t in range(15):
        lo.step()
        to.step()
        ls.step()
        ts.step()
        assert lo.param_groups[0]["lr"] is lw_lr
        (last,) = ls.get_last_lr()
        assert isinstance(last, lw.Tensor) and last is not lw_lr
        assert _close(float(lw_lr), float(th_lr)) and _close(float(last), float(ts.get_last_lr()[0]))


# ---------------------------------------------------------------------- errors
def _both_raise(exc, match, build):
    """The same bad construction raises the same error in torch and in layerwise."""
    for m in (torch, lw):
        lo, to = _optimizers()
        with pytest.raises(exc, match=match):
            build(m, lo if m is lw else to)


@pytest.mark.parametrize("build, match", [
    (lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.0),
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=1.5),
     "Starting multiplicative factor expected to be greater than 0"),
    (lambda m, o: m.optim.lr_scheduler.LinearLR(o, end_factor=1.01),
     "Ending multiplicative factor expected to be between 0 and 1."),
    (lambda m, o: m.optim.lr_scheduler.LinearLR(o, end_factor=-0.1),
     "Ending multiplicative factor expected to be between 0 and 1."),
    (lambda m, o: m.optim.lr_scheduler.ConstantLR(o, factor=1.5),
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda m, o: m.optim.lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), "Expected 3 lr_lambdas, but got 2"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=0),
     "Expected positive integer total_steps, but got 0"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10.0),
     "Expected positive integer total_steps, but got 10.0"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0),
     r"You must define either total_steps OR \(epochs AND steps_per_epoch\)"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=10),
     "Expected positive integer epochs, but got 0"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=-1),
     "Expected positive integer steps_per_epoch, but got -1"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5),
     "Expected float between 0 and 1 pct_start, but got 1.5"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10, pct_start=0),
     "Expected float between 0 and 1 pct_start, but got 0"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, [1.0, 2.0], total_steps=10),
     "max_lr must have the same length as optimizer.param_groups. max_lr has 2 values, param_groups has 3."),
    (lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10, base_momentum=[0.8]),
     "base_momentum must have the same length as optimizer.param_groups"),
    (lambda m, o: m.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0), r"Factor should be < 1.0."),
    (lambda m, o: m.optim.lr_scheduler.ReduceLROnPlateau(o, mode="avg"), "mode avg is unknown!"),
    (lambda m, o: m.optim.lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
     "threshold mode pct is unknown!"),
    (lambda m, o: m.optim.lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "expected 3 min_lrs, got 2"),
    (lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
     "Expected positive integer T_0, but got 0"),
    (lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2.0),
     "Expected positive integer T_0, but got 2.0"),
    (lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0),
     "Expected integer T_mult >= 1, but got 0"),
    (lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, eta_min="0"),
     "Expected float or int eta_min"),
    (lambda m, o: m.optim.lr_scheduler.SequentialLR(o, [], milestones=[]),
     "SequentialLR expects at least one scheduler, but got no scheduler."),
    (lambda m, o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.StepLR(o, 2), m.optim.lr_scheduler.StepLR(o, 3)], milestones=[2, 4]),
     "Sequential Schedulers expects number of schedulers provided to be one more than the number "
     "of milestone points, but got number of schedulers 2 and the number of milestones to be equal to 2"),
    (lambda m, o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.StepLR(o, 2), m.optim.lr_scheduler.ReduceLROnPlateau(o)], milestones=[2]),
     "SequentialLR does not support `ReduceLROnPlateau` scheduler"),
    (lambda m, o: m.optim.lr_scheduler.ChainedScheduler([]),
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
])
def test_argument_errors_match_torch(build, match):
    _both_raise(ValueError, match, build)


def test_one_cycle_needs_momentum_or_betas_and_schedulers_need_an_optimizer():
    for m in (torch, lw):
        p = torch.zeros(1, requires_grad=True) if m is torch else lw.nn.Parameter(np.zeros(1))
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with "
                                             "`cycle_momentum` option enabled"):
            m.optim.lr_scheduler.OneCycleLR(m.optim.Adagrad([p]), 1.0, total_steps=10)
        for build in (lambda: m.optim.lr_scheduler.StepLR(object(), 2),
                      lambda: m.optim.lr_scheduler.OneCycleLR(object(), 1.0, total_steps=10),
                      lambda: m.optim.lr_scheduler.ReduceLROnPlateau(object())):
            with pytest.raises(TypeError, match="object is not an Optimizer"):
                build()
        with pytest.raises(TypeError, match="lr_lambda should be a function, but got float"):
            m.optim.lr_scheduler.MultiplicativeLR(m.optim.SGD([p]), 0.9)


def test_schedulers_of_another_optimizer_are_rejected():
    lo, _ = _optimizers()
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="SequentialLR expects all schedulers to belong to the same optimizer"):
        lw.optim.lr_scheduler.SequentialLR(lo, [lw.optim.lr_scheduler.StepLR(lo, 2),
                                                lw.optim.lr_scheduler.StepLR(other, 2)], [3])


def test_submodule_and_names():
    from layerwise.optim import lr_scheduler
    from layerwise.optim.lr_scheduler import LRScheduler, OneCycleLR
    assert lw.optim.lr_scheduler is lr_scheduler
    assert issubclass(OneCycleLR, LRScheduler)
    assert issubclass(lr_scheduler.ReduceLROnPlateau, LRScheduler)
    for name in lr_scheduler.__all__:
        assert hasattr(torch.optim.lr_scheduler, name), name


# ---------------------------------------------------------------------- docs
def test_docs_training_loop_example_runs():
    """The example in docs/optim.md runs as written and its loss goes down."""
    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "optim.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert blocks, "docs/optim.md has no python example"
    env = {}
    exec(compile(blocks[0], str(doc), "exec"), env)
    assert env["losses"][-1] < 0.1 * env["losses"][0]
