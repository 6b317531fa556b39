"""Optimizer hooks behave as torch's: order, arguments, return values, removal."""
import importlib

import numpy as np
import pytest
import torch

import layerwise as lw


def _opts():
    lp = lw.nn.Parameter(np.ones(3, np.float32))
    tp = torch.nn.Parameter(torch.ones(3))
    lp.grad, tp.grad = lw.ones(3), torch.ones(3)
    return lw.optim.SGD([lp], lr=0.1), torch.optim.SGD([tp], lr=0.1)


def _run_events(m, opt):
    events = []
    module = importlib.import_module(m.__name__ + ".optim.optimizer")
    glob_pre = module.register_optimizer_step_pre_hook(
        lambda o, a, k: events.append(("global pre", a[1:], k, a[0] is opt)))
    glob_post = module.register_optimizer_step_post_hook(
        lambda o, a, k: events.append(("global post", a[1:], k, a[0] is opt)))
    try:
        h1 = opt.register_step_pre_hook(lambda o, a, k: events.append(("pre", o is opt, a[1:], k)))
        opt.register_step_post_hook(lambda o, a, k: events.append(("post", o is opt, a[1:], k)))
        opt.step()
        h1.remove()
        opt.step(closure=None)
    finally:
        glob_pre.remove()
        glob_post.remove()
    opt.step()                                        # no global hooks any more
    return events


def test_step_hooks_run_in_torchs_order_with_the_call_arguments():
    lo, to = _opts()
    ours, theirs = _run_events(lw, lo), _run_events(torch, to)
    assert ours == theirs
    assert [e[0] for e in ours] == ["global pre", "pre", "post", "global post", "global pre",
                                    "post", "global post", "post"]
    assert ours[4] == ("global pre", (), {"closure": None}, True)


def test_a_pre_hook_can_replace_the_arguments_or_must_return_a_pair():
    for m in (lw, torch):
        opt = _opts()[0 if m is lw else 1]
        calls = []
        opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": lambda: calls.append(1) or 7.0}))
        assert opt.step() == 7.0 and calls == [1]
        bad = _opts()[0 if m is lw else 1]
        bad.register_step_pre_hook(lambda o, a, k: "nope")
        with pytest.raises(RuntimeError, match="must return None or a tuple of"):
            bad.step()


def test_state_dict_hooks_can_edit_and_replace():
    for m in (lw, torch):
        opt = _opts()[0 if m is lw else 1]
        seen = []
        opt.register_state_dict_pre_hook(lambda o: seen.append("pre"))
        opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
        opt.register_state_dict_post_hook(lambda o, sd: seen.append(sorted(sd)), prepend=True)
        sd = opt.state_dict()
        assert sd["extra"] == 1 and seen == ["pre", ["param_groups", "state"]]
        loaded = []
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
        opt.register_load_state_dict_post_hook(lambda o: loaded.append(o.param_groups[0]["lr"]))
        sd["param_groups"][0]["lr"] = 0.5
        opt.load_state_dict(sd)
        assert loaded == [0.5]


def test_a_subclass_step_calling_super_runs_the_hooks_once():
    class Clipped(lw.optim.SGD):
        def step(self, closure=None):
            for g in self.param_groups:
                for p in g["params"]:
                    p.grad.array.clip(-0.5, 0.5, out=p.grad.array)
            return super().step(closure)

    p = lw.nn.Parameter(np.zeros(2, np.float32))
    p.grad = lw.tensor([2.0, -2.0])
    opt = Clipped([p], lr=1.0)
    count = []
    opt.register_step_post_hook(lambda o, a, k: count.append(1))
    opt.step()
    assert count == [1] and p.detach().numpy().tolist() == [-0.5, 0.5]
