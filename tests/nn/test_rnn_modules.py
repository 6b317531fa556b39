"""RNN, LSTM, GRU and the cells against torch with torch's weights (copied by state dict):
outputs, h_n/c_n, the gradients of the input, h0/c0 and every parameter, float32 and float64,
over a declarative grid (kind × layers × bidirectional × batch_first × h0 × bias, LSTM
projections), unbatched inputs, batch and sequence of 1, dropout (p = 0 in training, p > 0 in
eval, and the statistics of p > 0 in training), parameter names/order/shapes/counts/init, reprs,
gradchecks and the error messages."""
import itertools
import math
import warnings

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import rnn as lw_rnn
from parity import check_module, parity_module, rand


class _LwNN:
    """layerwise's recurrent modules under torch.nn-style names."""

    def __getattr__(self, name):
        return getattr(lw_rnn, name)


def NN(m):
    return torch.nn if m is torch else _LwNN()


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) → a flat tuple of tensors for the harness."""
    y, h = out
    return (y,) + (tuple(h) if isinstance(h, tuple) else (h,))


def _call_with_state(kind):
    if kind == "LSTM":
        return lambda mod, x, h0, c0: _flat(mod(x, (h0, c0)))
    return lambda mod, x, h0: _flat(mod(x, h0))


KINDS = {"RNN_TANH": ("RNN", dict(nonlinearity="tanh")), "RNN_RELU": ("RNN", dict(nonlinearity="relu")),
         "LSTM": ("LSTM", {}), "GRU": ("GRU", {})}
L_, N_, I_, H_ = 4, 3, 5, 6


def _grid():
    cases = []
    for mode in KINDS:
        for i, (layers, bidir, with_h0) in enumerate(itertools.product((1, 2, 3), (False, True), (False, True))):
            cases.append(dict(mode=mode, num_layers=layers, bidirectional=bidir, h0=with_h0,
                              batch_first=i % 2 == 0, bias=i % 3 != 0, proj_size=0))
    for layers, bidir, with_h0, bf, bias, proj in ((2, True, True, False, True, 3), (1, False, False, True, True, 2),
                                                   (3, True, False, False, False, 4), (2, False, True, True, True, 1)):
        cases.append(dict(mode="LSTM", num_layers=layers, bidirectional=bidir, h0=with_h0, batch_first=bf,
                          bias=bias, proj_size=proj))
    return cases


def _make(case):
    name, extra = KINDS[case["mode"]]
    kw = dict(num_layers=case["num_layers"], bidirectional=case["bidirectional"],
              batch_first=case["batch_first"], bias=case["bias"], **extra)
    if case["proj_size"]:
        kw["proj_size"] = case["proj_size"]
    return lambda m: getattr(NN(m), name)(I_, H_, **kw)


def _case_id(c):
    return (f"{c['mode']}-L{c['num_layers']}{'-bi' if c['bidirectional'] else ''}"
            f"{'-bf' if c['batch_first'] else ''}{'' if c['bias'] else '-nobias'}"
            f"{'-h0' if c['h0'] else ''}{'-proj%d' % c['proj_size'] if c['proj_size'] else ''}")


@pytest.mark.parametrize("case", _grid(), ids=_case_id)
def test_recurrent_layers_match_torch(case):
    D = 2 if case["bidirectional"] else 1
    P = case["proj_size"] or H_
    x = rand(N_, L_, I_) if case["batch_first"] else rand(L_, N_, I_)
    name = KINDS[case["mode"]][0]
    if not case["h0"]:
        check_module(_make(case), x, call=lambda mod, x: _flat(mod(x)), what=_case_id(case))
        return
    states = [rand(case["num_layers"] * D, N_, P, seed=1)]
    if name == "LSTM":
        states.append(rand(case["num_layers"] * D, N_, H_, seed=2))
    check_module(_make(case), x, *states, call=_call_with_state(name), what=_case_id(case))


@pytest.mark.parametrize("mode", list(KINDS))
@pytest.mark.parametrize("with_h0", [False, True])
def test_unbatched_input(mode, with_h0):
    name, extra = KINDS[mode]
    make = lambda m: getattr(NN(m), name)(I_, H_, num_layers=2, bidirectional=True, **extra)  # noqa: E731
    x = rand(L_, I_)
    if not with_h0:
        check_module(make, x, call=lambda mod, x: _flat(mod(x)))
    else:
        states = [rand(4, H_, seed=1)] + ([rand(4, H_, seed=2)] if name == "LSTM" else [])
        check_module(make, x, *states, call=_call_with_state(name))
    out = getattr(NN(lw), name)(I_, H_, **extra)(lw.tensor(x).float())
    assert tuple(out[0].shape) == (L_, H_)


@pytest.mark.parametrize("mode", list(KINDS))
@pytest.mark.parametrize("shape", [(1, 3, I_), (4, 1, I_), (1, 1, I_)], ids=["T1", "B1", "T1B1"])
def test_sequence_or_batch_of_one(mode, shape):
    name, extra = KINDS[mode]
    check_module(lambda m: getattr(NN(m), name)(I_, H_, num_layers=2, bidirectional=True, **extra),
                 rand(*shape), call=lambda mod, x: _flat(mod(x)))


@pytest.mark.parametrize("mode", list(KINDS))
def test_dropout_zero_in_training_and_nonzero_in_eval_match_torch(mode):
    name, extra = KINDS[mode]
    check_module(lambda m: getattr(NN(m), name)(I_, H_, num_layers=3, dropout=0.0, **extra),
                 rand(L_, N_, I_), call=lambda mod, x: _flat(mod(x)), train=True)
    check_module(lambda m: getattr(NN(m), name)(I_, H_, num_layers=3, dropout=0.6, bidirectional=True, **extra),
                 rand(L_, N_, I_), call=lambda mod, x: _flat(mod(x)), train=False)


def test_dropout_in_training_drops_between_layers_with_the_right_statistics():
    """Layer 1 is made the identity on relu outputs (W_ih = I, W_hh = 0, b = 0), so the output
    in training is mask ⊙ (layer-0 output): kept entries scaled by exactly 1/(1 − p), dropped
    ones 0, a fraction p of them; the backward goes through the same mask."""
    p, Hs, T, Bs = 0.3, 32, 20, 16
    m = lw_rnn.RNN(Hs, Hs, num_layers=2, nonlinearity="relu", dropout=p).double()
    with lw.no_grad():
        m.bias_ih_l0.array[:] = 1.0                 # layer-0 outputs mostly positive
        m.weight_ih_l1.array[:] = np.eye(Hs)
        m.weight_hh_l1.array[:] = 0
        m.bias_ih_l1.array[:] = 0
        m.bias_hh_l1.array[:] = 0
    x = lw.tensor(rand(T, Bs, Hs, lo=-1, hi=1))
    m.eval()
    ref = m(x)[0].detach().numpy()                 # no dropout: the layer-0 output itself
    m.train()
    lw.manual_seed(123)
    out, _ = m(x)
    y = out.detach().numpy()
    pos = ref > 0.05
    assert pos.mean() > 0.8
    ratio = y[pos] / ref[pos]
    kept = ratio > 0.5
    np.testing.assert_allclose(ratio[kept], 1 / (1 - p), rtol=1e-12)
    np.testing.assert_array_equal(ratio[~kept], 0)
    assert abs((~kept).mean() - p) < 0.03          # n ≈ 8,000: 6 standard deviations
    # the same seed gives the same mask; another seed another one
    lw.manual_seed(123)
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), y)
    lw.manual_seed(124)
    assert not np.array_equal(m(x)[0].detach().numpy(), y)
    # backward: dL/dW_ih(l1) = Σ_rows (w ⊙ [y > 0])ᵀ · (masked layer-0 output = y)
    w = rand(T, Bs, Hs, seed=9)
    m.zero_grad()
    (out * lw.tensor(w)).sum().backward()
    g = (w * (y > 0)).reshape(-1, Hs).T @ y.reshape(-1, Hs)
    np.testing.assert_allclose(m.weight_ih_l1.grad.numpy(), g, rtol=1e-10, atol=1e-12)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        lw_rnn.GRU(3, 4, dropout=0.5)


# ------------------------------------------------------------------------------------ cells
CELL_GRID = [("RNNCell", dict(nonlinearity="tanh")), ("RNNCell", dict(nonlinearity="relu", bias=False)),
             ("LSTMCell", {}), ("LSTMCell", dict(bias=False)), ("GRUCell", {}), ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("name,kw", CELL_GRID, ids=lambda v: str(v))
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, kw, batched):
    make = lambda m: getattr(NN(m), name)(I_, H_, **kw)  # noqa: E731
    lead = (N_,) if batched else ()
    x = rand(*lead, I_)
    check_module(make, x, call=lambda mod, x: mod(x))
    if name == "LSTMCell":
        check_module(make, x, rand(*lead, H_, seed=1), rand(*lead, H_, seed=2),
                     call=lambda mod, x, h, c: mod(x, (h, c)))
    else:
        check_module(make, x, rand(*lead, H_, seed=1), call=lambda mod, x, h: mod(x, h))
    assert repr(make(lw)) == repr(make(torch))


def test_cells_unrolled_over_time_match_the_sequence_layer():
    """An LSTMCell stepped over a sequence gives the LSTM's outputs with the same weights."""
    cell = lw_rnn.LSTMCell(I_, H_).double()
    layer = lw_rnn.LSTM(I_, H_).double()
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = lw.tensor(rand(L_, N_, I_))
    h = c = lw.zeros(N_, H_, dtype=lw.float64)
    for t in range(L_):
        h, c = cell(x[t], (h, c))
    y, (h_n, c_n) = layer(x)
    np.testing.assert_allclose(h.detach().numpy(), h_n[0].detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(c.detach().numpy(), c_n[0].detach().numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck(name):
    cell = getattr(lw_rnn, name)(3, 4).double()
    x = lw.tensor(rand(2, 3), requires_grad=True)
    h = lw.tensor(rand(2, 4, seed=1), requires_grad=True)
    if name == "LSTMCell":
        c = lw.tensor(rand(2, 4, seed=2), requires_grad=True)
        assert lw.autograd.gradcheck(lambda x, h, c: cell(x, (h, c)), [x, h, c], params=cell.parameters())
    else:
        assert lw.autograd.gradcheck(lambda x, h: cell(x, h), [x, h], params=cell.parameters())


@pytest.mark.parametrize("mode", list(KINDS))
def test_stacked_bidirectional_gradcheck(mode):
    name, extra = KINDS[mode]
    kw = dict(proj_size=2) if name == "LSTM" else {}
    m = getattr(lw_rnn, name)(3, 4, num_layers=2, bidirectional=True, **extra, **kw).double()
    if mode == "RNN_RELU":
        for k in range(2):
            for sfx in ("", "_reverse"):
                getattr(m, f"bias_ih_l{k}{sfx}").array += 0.5     # away from relu's kink
    x = lw.tensor(rand(4, 2, 3), requires_grad=True)
    assert lw.autograd.gradcheck(lambda x: _flat(m(x)), [x], params=m.parameters())


# ------------------------------------------------------------------------------------ params
PARAM_CASES = [("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
               ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
               ("LSTM", dict(num_layers=3, bias=False, proj_size=2)),
               ("GRU", dict(num_layers=2, bias=False, bidirectional=True)), ("LSTM", {})]


@pytest.mark.parametrize("name,kw", PARAM_CASES, ids=lambda v: str(v))
def test_parameters_names_order_shapes_and_repr_match_torch(name, kw):
    a, b = getattr(lw_rnn, name)(I_, H_, **kw), getattr(torch.nn, name)(I_, H_, **kw)
    assert [(n, tuple(p.shape)) for n, p in a.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in b.named_parameters()]
    assert list(a.state_dict()) == list(b.state_dict())
    assert repr(a) == repr(b)
    assert [[tuple(p.shape) for p in ws] for ws in a.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in b.all_weights]
    bound = 1 / math.sqrt(H_)
    for _, p in a.named_parameters():
        assert p.dtype == lw.float32
        v = np.abs(p.detach().numpy())
        assert v.max() <= bound and v.max() > 0.5 * bound


@pytest.mark.parametrize("name,gates", [("RNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_parameter_counts(name, gates):
    Iz, Hz = 10, 20
    for layers, bidir in ((1, False), (2, True)):
        m = getattr(lw_rnn, name)(Iz, Hz, num_layers=layers, bidirectional=bidir)
        D = 2 if bidir else 1
        per = lambda i: gates * Hz * (i + Hz) + 2 * gates * Hz  # noqa: E731
        expected = D * per(Iz) + (layers - 1) * D * per(D * Hz)
        assert sum(p.numel() for p in m.parameters()) == expected
    assert sum(p.numel() for p in lw_rnn.LSTM(10, 20, proj_size=5).parameters()) == \
        4 * 20 * (10 + 5) + 8 * 20 + 5 * 20


def test_float32_stays_float32_and_float64_models():
    m = lw_rnn.LSTM(3, 4, num_layers=2)
    out, (h, c) = m(lw.tensor(rand(5, 2, 3).astype(np.float32), requires_grad=True))
    assert out.dtype == h.dtype == c.dtype == lw.float32
    out.sum().backward()
    assert all(p.grad.dtype == lw.float32 for p in m.parameters())
    m64 = lw_rnn.GRU(3, 4, dtype=lw.float64)
    assert m64(lw.tensor(rand(5, 2, 3)))[0].dtype == lw.float64


# ------------------------------------------------------------------------------------ errors
def test_input_shape_errors_name_the_layer_and_shapes():
    m = lw_rnn.LSTM(10, 20, num_layers=2)
    with pytest.raises(RuntimeError, match=r"^LSTM\(10, 20, num_layers=2\): expected input of shape "
                                           r"\(L, N, 10\) or \(L, 10\), got \(5, 3, 7\)$"):
        m(lw.zeros(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"expected input of shape \(L, N, 10\) or \(L, 10\), got \(2, 5, 3, 10\)"):
        m(lw.zeros(2, 5, 3, 10))
    with pytest.raises(RuntimeError, match=r"^GRU\(4, 6, batch_first=True\): expected input of shape "
                                           r"\(N, L, 4\) or \(L, 4\), got \(3, 5\)"):
        lw_rnn.GRU(4, 6, batch_first=True)(lw.zeros(3, 5))
    with pytest.raises(RuntimeError, match=r"sequence length larger than 0, got input of shape \(0, 2, 4\)"):
        lw_rnn.RNN(4, 6)(lw.zeros(0, 2, 4))
    with pytest.raises(TypeError, match=r"^RNN\(4, 6\): input dtype float64 does not match the weight dtype float32"):
        lw_rnn.RNN(4, 6)(lw.tensor(rand(3, 2, 4)))
    with pytest.raises(TypeError, match="expected a Tensor or a PackedSequence input"):
        lw_rnn.RNN(4, 6)(np.zeros((3, 2, 4), np.float32))


def test_state_shape_errors():
    m = lw_rnn.LSTM(10, 20, num_layers=2)
    x = lw.zeros(5, 3, 10)
    with pytest.raises(RuntimeError, match=r"^LSTM\(10, 20, num_layers=2\): expected h_0 of shape \(2, 3, 20\), "
                                           r"got \(1, 3, 20\)$"):
        m(x, (lw.zeros(1, 3, 20), lw.zeros(2, 3, 20)))
    with pytest.raises(RuntimeError, match=r"expected c_0 of shape \(2, 3, 20\), got \(2, 3, 5\)"):
        m(x, (lw.zeros(2, 3, 20), lw.zeros(2, 3, 5)))
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(2, 3, 4\), got \(2, 3, 20\)"):
        lw_rnn.LSTM(10, 20, num_layers=2, proj_size=4)(x, (lw.zeros(2, 3, 20), lw.zeros(2, 3, 20)))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h_0, c_0\), got Tensor"):
        m(x, lw.zeros(2, 3, 20))
    with pytest.raises(TypeError, match=r"^GRU\(10, 20\): expected hx to be a Tensor h_0, got a tuple"):
        lw_rnn.GRU(10, 20)(x, (lw.zeros(1, 3, 20),))
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(1, 20\), got \(1, 1, 20\) \(the input "
                                           r"\(5, 10\) is unbatched \(L, H_in\), so h_0 must be 2-D\)"):
        lw_rnn.RNN(10, 20)(lw.zeros(5, 10), lw.zeros(1, 1, 20))
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(1, 3, 20\), got \(1, 20\) \(the input "
                                           r"\(5, 3, 10\) is batched, so h_0 must be 3-D\)"):
        lw_rnn.RNN(10, 20)(x, lw.zeros(1, 20))
    with pytest.raises(TypeError, match=r"h_0 dtype float64 does not match the input dtype float32"):
        lw_rnn.RNN(10, 20)(x, lw.zeros(1, 3, 20, dtype=lw.float64))


def test_batch_first_mismatch_is_pointed_out():
    """A (batch, time, features) input fed to a batch_first=False layer reads as time-major: the
    h_0 the caller built for its batch then has the input's dim 0 as batch size."""
    gru = lw_rnn.GRU(4, 6)
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(1, 5, 6\), got \(1, 2, 6\); its batch size 2 "
                                           r"is the input's dim 0: is batch_first=False right\? The batch is dim 1"):
        gru(lw.zeros(2, 5, 4), lw.zeros(1, 2, 6))
    with pytest.raises(RuntimeError, match=r"its batch size 5 is the input's dim 1: is batch_first=True right\?"):
        lw_rnn.GRU(4, 6, batch_first=True)(lw.zeros(2, 5, 4), lw.zeros(1, 5, 6))


def test_constructor_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        lw_rnn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        lw_rnn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
        lw_rnn.GRU(3, 4, proj_size=2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'hidden'"):
        lw_rnn.RNN(3, 4, hidden=2)
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        lw_rnn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."):
        lw_rnn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        lw_rnn.LSTM(3, 0)
    with pytest.raises(TypeError, match="input_size should be of type int"):
        lw_rnn.LSTM(3.0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lw_rnn.LSTM(3, 4, num_layers=2, dropout=0.5)      # no warning with 2 layers


def test_cell_errors():
    cell = lw_rnn.LSTMCell(4, 8)
    with pytest.raises(RuntimeError, match=r"^LSTMCell\(4, 8\): expected input of shape \(N, 4\) or \(4,\), got \(3, 5\)"):
        cell(lw.zeros(3, 5))
    with pytest.raises(RuntimeError, match=r"^LSTMCell\(4, 8\): expected h of shape \(3, 8\), got \(2, 8\)"):
        cell(lw.zeros(3, 4), (lw.zeros(2, 8), lw.zeros(3, 8)))
    with pytest.raises(RuntimeError, match=r"^GRUCell\(4, 8\): expected hx of shape \(8,\), got \(1, 8\)"):
        lw_rnn.GRUCell(4, 8)(lw.zeros(4), lw.zeros(1, 8))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h, c\)"):
        cell(lw.zeros(3, 4), lw.zeros(3, 8))


def test_layers_work_under_no_grad_and_in_modules():
    model = lw.nn.Sequential(lw.nn.Linear(3, 3))       # containers hold recurrent layers too
    model.add_module("rnn", lw_rnn.GRU(3, 4))
    with lw.no_grad():
        out, h = model.rnn(model[0](lw.zeros(5, 2, 3)))
    assert not out.requires_grad and tuple(out.shape) == (5, 2, 4) and tuple(h.shape) == (1, 2, 4)


def test_parity_module_generator_exposes_modules():
    for lw_mod, th_mod in parity_module(lambda m: NN(m).GRU(I_, H_), rand(L_, N_, I_),
                                        call=lambda mod, x: _flat(mod(x)), dtypes=("float64",)):
        assert isinstance(lw_mod, lw_rnn.GRU) and isinstance(th_mod, torch.nn.GRU)
