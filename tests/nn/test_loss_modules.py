"""Loss Modules (layerwise/nn/loss.py) against torch.nn: values, gradients, constructor
defaults, buffers (class weights, pos_weight) in the state_dict, and repr."""
import warnings

import numpy as np
import pytest
import torch

import layerwise as lw
from parity import check_module, const, distinct, gradcheck, rand

W3 = np.array([0.4, 1.5, 0.9])
SIGNS = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, -1], [-1, 1, 1]], dtype=np.float64)
COUNTS = np.array([[0, 1, 3], [2, 0, 5], [1, 1, 0], [4, 2, 1]], dtype=np.float64)


def probs(*shape, seed=0):
    p = rand(*shape, lo=0.05, hi=1.0, seed=seed)
    return p / p.sum(axis=1, keepdims=True)


# (constructor, input, target)
LOSSES = [
    (lambda m: m.nn.MSELoss(), rand(4, 3), rand(4, 3, seed=1)),
    (lambda m: m.nn.MSELoss(reduction="sum"), rand(4, 3), rand(4, 3, seed=1)),
    (lambda m: m.nn.L1Loss(reduction="none"), distinct(4, 3), distinct(4, 3, seed=1, spread=1)),
    (lambda m: m.nn.SmoothL1Loss(beta=0.5), distinct(4, 3), distinct(4, 3, seed=1, spread=1)),
    (lambda m: m.nn.HuberLoss(delta=0.8), distinct(4, 3), distinct(4, 3, seed=1, spread=1)),
    (lambda m: m.nn.CrossEntropyLoss(), rand(5, 3), const(np.array([0, 2, 1, 1, 0]))),
    (lambda m: m.nn.CrossEntropyLoss(weight=m.tensor(W3), ignore_index=1, label_smoothing=0.1),
     rand(5, 3), const(np.array([0, 2, 1, 1, 0]))),
    (lambda m: m.nn.CrossEntropyLoss(reduction="none"), rand(2, 3, 4),
     const(np.array([[0, 1, 2, 2], [1, 1, 0, 2]]))),
    (lambda m: m.nn.CrossEntropyLoss(label_smoothing=0.2), rand(4, 3), probs(4, 3)),
    (lambda m: m.nn.NLLLoss(weight=m.tensor(W3)), rand(5, 3), const(np.array([0, 2, 1, 1, 0]))),
    (lambda m: m.nn.NLLLoss(ignore_index=0, reduction="sum"), rand(5, 3), const(np.array([0, 2, 1, 1, 0]))),
    (lambda m: m.nn.BCELoss(), rand(4, 3, lo=0.05, hi=0.95), rand(4, 3, lo=0, hi=1, seed=1)),
    (lambda m: m.nn.BCELoss(weight=m.tensor(W3), reduction="none"), rand(4, 3, lo=0.05, hi=0.95),
     const(rand(4, 3, lo=0, hi=1, seed=1))),
    (lambda m: m.nn.BCEWithLogitsLoss(), rand(4, 3), rand(4, 3, lo=0, hi=1, seed=1)),
    (lambda m: m.nn.BCEWithLogitsLoss(weight=m.tensor(rand(4, 1, lo=0.2, hi=2)),
                                      pos_weight=m.tensor(W3)), rand(4, 3), rand(4, 3, lo=0, hi=1, seed=1)),
    (lambda m: m.nn.KLDivLoss(reduction="batchmean"), np.log(probs(4, 3)), probs(4, 3, seed=1)),
    (lambda m: m.nn.KLDivLoss(reduction="sum", log_target=True), np.log(probs(4, 3)),
     np.log(probs(4, 3, seed=1))),
    (lambda m: m.nn.SoftMarginLoss(), rand(4, 3), const(SIGNS)),
    (lambda m: m.nn.SoftMarginLoss(reduction="none"), rand(4, 3), const(SIGNS)),
    (lambda m: m.nn.HingeEmbeddingLoss(), distinct(4, 3), const(SIGNS)),
    (lambda m: m.nn.HingeEmbeddingLoss(margin=0.5, reduction="sum"), distinct(4, 3), const(SIGNS)),
    (lambda m: m.nn.PoissonNLLLoss(), rand(4, 3), const(COUNTS)),
    (lambda m: m.nn.PoissonNLLLoss(log_input=False, full=True, reduction="sum"),
     rand(4, 3, lo=0.1, hi=3), const(COUNTS)),
    (lambda m: m.nn.MultiLabelSoftMarginLoss(), rand(4, 3), const((SIGNS > 0) * 1.0)),
    (lambda m: m.nn.MultiLabelSoftMarginLoss(weight=m.tensor(W3), reduction="none"), rand(4, 3),
     const((SIGNS > 0) * 1.0)),
    # spread 1.1: no score difference equals the margin exactly (a hinge's kink)
    (lambda m: m.nn.MultiMarginLoss(), distinct(4, 3, spread=1.1), const(np.array([0, 2, 1, 2]))),
    (lambda m: m.nn.MultiMarginLoss(p=2, margin=0.7, weight=m.tensor(W3), reduction="sum"),
     distinct(4, 3, spread=1.1), const(np.array([0, 2, 1, 2]))),
]
IDS = [f"{type(make(torch)).__name__}-{i}" for i, (make, _, _) in enumerate(LOSSES)]


@pytest.mark.parametrize("make,x,t", LOSSES, ids=IDS)
def test_loss_module_parity(make, x, t):
    check_module(make, x, t)


@pytest.mark.parametrize("make,x,t", LOSSES, ids=IDS)
def test_repr_attributes_and_state_dict_match_torch(make, x, t):
    th, mine = make(torch), make(lw)
    assert repr(mine) == repr(th)
    public = {k: v for k, v in vars(th).items() if not k.startswith("_") and k != "training"}
    for k, v in public.items():
        assert getattr(mine, k) == v, k
    assert list(mine.state_dict()) == list(th.state_dict())
    for name, buf in th.named_buffers():
        assert np.array_equal(getattr(mine, name).numpy(), buf.numpy())


def test_weight_buffer_moves_with_the_module():
    loss = lw.nn.CrossEntropyLoss(weight=lw.tensor(W3)).float()
    assert loss.weight.dtype == lw.float32 and loss.weight.requires_grad is False
    loss(lw.randn(2, 3), lw.tensor([0, 2]))
    assert lw.nn.CrossEntropyLoss().weight is None


# losses of several inputs: (constructor, inputs), every float input differentiated
MULTI = [
    (lambda m: m.nn.MarginRankingLoss(), rand(6, seed=1), rand(6, seed=2), const(SIGNS[:2].reshape(-1))),
    (lambda m: m.nn.MarginRankingLoss(margin=0.3, reduction="none"), rand(6, seed=1),
     rand(6, seed=2), const(SIGNS[:2].reshape(-1))),
    (lambda m: m.nn.CosineEmbeddingLoss(), rand(4, 5, seed=1), rand(4, 5, seed=2), const(SIGNS[:, 0])),
    (lambda m: m.nn.CosineEmbeddingLoss(margin=-0.2, reduction="sum"), rand(4, 5, seed=1),
     rand(4, 5, seed=2), const(SIGNS[:, 1])),
    (lambda m: m.nn.CosineEmbeddingLoss(), rand(5, seed=1), rand(5, seed=2), const(np.array(-1.0))),
    (lambda m: m.nn.TripletMarginLoss(), rand(4, 5, seed=1), rand(4, 5, seed=2), rand(4, 5, seed=3)),
    (lambda m: m.nn.TripletMarginLoss(margin=2.0, p=1.0, swap=True, reduction="none"),
     rand(4, 5, seed=1), rand(4, 5, seed=2), rand(4, 5, seed=3)),
    (lambda m: m.nn.GaussianNLLLoss(), rand(4, 3, seed=1), rand(4, 3, seed=2),
     rand(4, 3, lo=0.2, hi=2, seed=3)),
    (lambda m: m.nn.GaussianNLLLoss(full=True, reduction="sum"), rand(4, 3, seed=1),
     rand(4, 3, seed=2), rand(4, lo=0.2, hi=2, seed=3)),                     # one variance per row
    (lambda m: m.nn.GaussianNLLLoss(eps=0.5, reduction="none"), rand(4, 3, seed=1),
     rand(4, 3, seed=2), rand(4, 1, lo=0.1, hi=2, seed=3)),                  # some clamped
    (lambda m: m.nn.MultiLabelMarginLoss(), distinct(3, 5, spread=1.3),
     const(np.array([[3, 0, -1, 1, 4], [1, 2, 3, 4, 0], [-1, 2, 0, 1, 1]]))),
    (lambda m: m.nn.MultiLabelMarginLoss(reduction="none"), distinct(5, spread=1.3),
     const(np.array([4, 1, -1, 0, 0]))),
    (lambda m: m.nn.TripletMarginWithDistanceLoss(), rand(4, 5, seed=1), rand(4, 5, seed=2),
     rand(4, 5, seed=3)),
    (lambda m: m.nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1 - m.nn.functional.cosine_similarity(a, b), margin=0.5,
        swap=True, reduction="sum"), rand(4, 5, seed=1), rand(4, 5, seed=2), rand(4, 5, seed=3)),
]
# Where the variance is clamped, torch (and layerwise) keep the unclamped gradient on purpose:
# it is not the derivative of the clamped function, so finite differences cannot check it.
NO_GRADCHECK = {"GaussianNLLLoss-9"}
MULTI_IDS = [f"{type(c[0](torch)).__name__}-{i}" for i, c in enumerate(MULTI)]


@pytest.mark.parametrize("case", MULTI, ids=MULTI_IDS)
def test_multi_input_losses_match_torch(case):
    make, *inputs = case
    check_module(make, *inputs)
    th, mine = make(torch), make(lw)
    assert repr(mine) == repr(th)
    public = {k: v for k, v in vars(th).items()
              if not k.startswith("_") and k != "training" and not callable(v)}
    assert {k: getattr(mine, k) for k in public} == public
    if f"{type(th).__name__}-{MULTI.index(case)}" not in NO_GRADCHECK:
        assert gradcheck(lambda m, *xs: make(m)(*xs), *inputs)


@pytest.mark.parametrize("make,x,t", LOSSES[-10:], ids=IDS[-10:])
def test_new_single_input_losses_pass_gradcheck(make, x, t):
    assert gradcheck(lambda m, a, b: make(m)(a, b), x, t)


def test_new_loss_errors_match_torch():
    for m in (torch, lw):
        with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
            m.nn.MultiMarginLoss(p=3)
        with pytest.raises(ValueError, match="var has negative entry"):
            m.nn.GaussianNLLLoss()(m.zeros(2, 3), m.zeros(2, 3), -m.ones(2, 3))
        with pytest.raises(ValueError, match="expected margin to be greater than 0"):
            m.nn.TripletMarginLoss(margin=0.0)
        with pytest.raises(RuntimeError, match="All input tensors should have same dimension"):
            m.nn.MarginRankingLoss()(m.zeros(3), m.zeros(3, 1), m.zeros(3))


def test_defaults_match_torch():
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
                 "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "MarginRankingLoss",
                 "HingeEmbeddingLoss", "SoftMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
                 "PoissonNLLLoss", "GaussianNLLLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
                 "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss"):
        th, mine = getattr(torch.nn, name)(), getattr(lw.nn, name)()
        public = {k: v for k, v in vars(th).items() if not k.startswith("_") and k != "training"}
        assert {k: getattr(mine, k) for k in public} == public, name


def test_legacy_reduction_flags():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in ({"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}):
            assert lw.nn.MSELoss(**kw).reduction == torch.nn.MSELoss(**kw).reduction
            assert lw.nn.NLLLoss(**kw).reduction == torch.nn.NLLLoss(**kw).reduction


def test_invalid_reduction_fails_at_construction():
    with pytest.raises(ValueError, match=r"MSELoss: 'avg' is not a valid value for reduction"):
        lw.nn.MSELoss(reduction="avg")
    assert lw.nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


def test_clear_errors_reach_the_module_caller():
    with pytest.raises(ValueError, match=r"target shape \(3,\) differs from input shape \(3, 1\)"):
        lw.nn.MSELoss()(lw.randn(3, 1), lw.randn(3))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        lw.nn.CrossEntropyLoss()(lw.randn(2, 3), lw.tensor([0, 3]))


def test_all_names_are_exported_and_exist_in_torch():
    from layerwise.nn import loss
    for name in loss.__all__:
        assert getattr(lw.nn, name) is getattr(loss, name)
        assert hasattr(torch.nn, name), name


def test_training_loop_matches_torch():
    """A few SGD steps of a tiny classifier: the same losses, step by step, in both libraries."""
    x = rand(16, 5, seed=3)
    y = np.random.default_rng(0).integers(0, 3, 16)
    results = {}
    for m in (torch, lw):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(5, 8), m.nn.SiLU(), m.nn.Linear(8, 3))
        if m is lw:
            model.load_state_dict({k: lw.tensor(v.numpy()) for k, v in results["model"].items()})
        else:
            results["model"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        crit = m.nn.CrossEntropyLoss(label_smoothing=0.1)
        xs, ys = m.tensor(x.astype(np.float32)), m.tensor(y)
        losses = []
        for _ in range(5):
            for p in model.parameters():
                p.grad = None
            loss = crit(model(xs), ys)
            loss.backward()
            with m.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
            losses.append(loss.item())
        results[m.__name__] = losses
    np.testing.assert_allclose(results["layerwise"], results["torch"], rtol=1e-5)
