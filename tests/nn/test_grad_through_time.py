"""The gradient recorder: ‖dL/dh_t‖ per time step, layer and direction, filled in by the fused
ops' backward, against torch's RNNCell/LSTMCell/GRUCell unrolled over time with the same weights,
reading each h_t's total gradient with retain_grad (the output at t, the next layer and step
t+1 all flowing in).  Stacked, bidirectional and packed (variable-length) cases, and the
context manager's semantics."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import rnn as lw_rnn
from layerwise.nn.utils import rnn as R
from layerwise.tools.grad_recorder import record_hidden_grads
from parity import copy_torch_params, rand

T, B, I, H = 6, 3, 4, 5
CELLS = {"RNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}


def _cell(tm, kind, layer, d):
    sfx = f"_l{layer}" + ("_reverse" if d else "")
    w_ih = getattr(tm, "weight_ih" + sfx)
    extra = dict(nonlinearity=tm.nonlinearity) if kind == "RNN" else {}
    cell = CELLS[kind](w_ih.shape[1], tm.hidden_size, **extra).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(tm, name + sfx))
    return cell


def _torch_unrolled_norms(tm, kind, x, w_out, w_hn):
    """Run ``tm``'s weights as cells step by step; return {(layer, d): ‖dL/dh_t‖ for t}."""
    L, D = tm.num_layers, 2 if tm.bidirectional else 1
    layer_in = [x[t] for t in range(T)]
    states, finals = {}, []
    for layer in range(L):
        outs = []
        for d in range(D):
            cell = _cell(tm, kind, layer, d)
            h = torch.zeros(B, H, dtype=torch.float64)
            c = torch.zeros_like(h)
            seq = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                if kind == "LSTM":
                    h, c = cell(layer_in[t], (h, c))
                else:
                    h = cell(layer_in[t], h)
                h.retain_grad()
                seq[t] = h
            states[(layer, d)] = seq
            finals.append(h)
            outs.append(seq)
        layer_in = [torch.cat([o[t] for o in outs], -1) for t in range(T)]
    loss = (torch.stack(layer_in) * w_out).sum() + (torch.stack(finals) * w_hn).sum()
    loss.backward()
    return {k: np.array([float(h.grad.norm()) for h in seq]) for k, seq in states.items()}


CASES = [("RNN", dict(num_layers=2)), ("RNN", dict(nonlinearity="relu")), ("LSTM", dict(num_layers=3)),
         ("LSTM", dict(bidirectional=True)), ("GRU", dict(num_layers=2, bidirectional=True)),
         ("GRU", {})]


@pytest.mark.parametrize("kind,kw", CASES, ids=lambda v: str(v))
def test_recorded_norms_match_torch_unrolled_cells(kind, kw):
    torch.manual_seed(0)
    tm = getattr(torch.nn, kind)(I, H, **kw).double()
    lm = getattr(lw_rnn, kind)(I, H, **kw).double()
    copy_torch_params(tm, lm)
    D = 2 if tm.bidirectional else 1
    x = rand(T, B, I)
    w_out, w_hn = rand(T, B, D * H, seed=1), rand(tm.num_layers * D, B, H, seed=2)
    expected = _torch_unrolled_norms(tm, kind, torch.tensor(x), torch.tensor(w_out), torch.tensor(w_hn))
    with record_hidden_grads(lm) as rec:
        out, h_n = lm(lw.tensor(x))
        h_n = h_n[0] if kind == "LSTM" else h_n
        ((out * lw.tensor(w_out)).sum() + (h_n * lw.tensor(w_hn)).sum()).backward()
    assert sorted(rec.norms) == sorted(expected)
    for key, norms in expected.items():
        assert rec.norms[key].shape == (T,) and rec.norms[key].dtype == np.float64
        np.testing.assert_allclose(rec.norms[key], norms, rtol=1e-10, err_msg=str(key))


def test_recorded_norms_on_packed_sequences_cover_the_running_sequences():
    """With variable lengths the norm at step t is over the sequences still running at t."""
    lengths = [6, 4, 2]
    bs = [sum(L > t for L in lengths) for t in range(T)]
    torch.manual_seed(1)
    tm = torch.nn.LSTM(I, H).double()
    lm = lw_rnn.LSTM(I, H).double()
    copy_torch_params(tm, lm)
    x = rand(T, B, I)
    w_out, w_hn = rand(T, B, H, seed=1), rand(1, B, H, seed=2)
    cell = _cell(tm, "LSTM", 0, 0)
    tx = torch.tensor(x)
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros_like(h)
    seq, loss = [], 0
    for t in range(T):
        n = bs[t]
        hn, cn = cell(tx[t, :n], (h[:n], c[:n]))
        hn.retain_grad()
        seq.append(hn)
        loss = loss + (hn * torch.tensor(w_out[t, :n])).sum()
        h, c = torch.cat([hn, h[n:]]), torch.cat([cn, c[n:]])
    (loss + (h * torch.tensor(w_hn[0])).sum()).backward()
    expected = np.array([float(s.grad.norm()) for s in seq])
    with record_hidden_grads(lm) as rec:
        out, (h_n, _) = lm(R.pack_padded_sequence(lw.tensor(x), lengths))
        y, _ = R.pad_packed_sequence(out)
        ((y * lw.tensor(w_out)).sum() + (h_n * lw.tensor(w_hn)).sum()).backward()
    np.testing.assert_allclose(rec.norms[(0, 0)], expected, rtol=1e-10)


def test_recorder_scope_and_several_modules():
    class Two(lw.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = lw_rnn.GRU(3, 4, bidirectional=True)
            self.dec = lw_rnn.LSTM(8, 5, num_layers=2)

        def forward(self, x):
            return self.dec(self.enc(x)[0])[0]

    model = Two()
    x = lw.tensor(rand(7, 2, 3).astype(np.float32))
    with record_hidden_grads(model) as rec:
        with lw.no_grad():
            model(x)                                    # nothing to record without a graph
        assert rec.calls == []
        model(x).sum().backward()
    assert sorted(rec.by_module) == ["dec", "enc"]
    assert sorted(rec.by_module["enc"]) == [(0, 0), (0, 1)]
    assert sorted(rec.by_module["dec"]) == [(0, 0), (1, 0)]
    assert len(rec.calls) == 4 and all(len(n) == 7 and (n > 0).all() for *_, n in rec.calls)
    with pytest.raises(RuntimeError, match="has 2 recurrent modules .* read rec.by_module"):
        rec.norms
    before = len(rec.calls)
    model(x).sum().backward()                           # outside the block: not recorded
    assert len(rec.calls) == before
    assert "_grad_recorder" not in model.enc.__dict__
    with pytest.raises(ValueError, match="contains no RNN, LSTM or GRU"):
        with record_hidden_grads(lw.nn.Linear(2, 2)):
            pass


def test_vanishing_gradient_is_visible():
    """A tanh RNN with small recurrent weights and a loss on the last step only: the recorded
    norms fall geometrically towards t = 0."""
    m = lw_rnn.RNN(2, 8).double()
    with lw.no_grad():
        m.weight_hh_l0.array *= 0.2
    with record_hidden_grads(m) as rec:
        out, _ = m(lw.tensor(rand(12, 4, 2)))
        out[-1].sum().backward()
    n = rec.norms[(0, 0)]
    assert (np.diff(n) > 0).all() and n[0] < 1e-4 * n[-1]
