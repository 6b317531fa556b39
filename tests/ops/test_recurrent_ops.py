"""The fused recurrent sequence ops (layerwise.ops.recurrent) on their own.

* one layer-direction against torch's layer with the same weights: outputs, h_n/c_n and the
  gradients of x, h0, c0 and every weight, forward and reverse, with and without bias and
  projection, float64 at 1e-9 and float32 at torch's tolerances (float32 stays float32);
* packed batches (per-step batch sizes) against running each sequence alone;
* float64 finite-difference gradchecks, packed included;
* one autograd node per sequence, and the recycled workspace with retained graphs.
"""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.backend import asarray
from layerwise.ops.recurrent import (GRUSequence, GatherRows, LSTMSequence, RNNSequence,
                                     ScatterRows, clear_workspace)
from parity import TOL, assert_close, rand

T, B, I, H = 5, 3, 4, 6


def _torch_layer(kind, bias, proj, dtype):
    torch.manual_seed(0)
    if kind == "lstm":
        m = torch.nn.LSTM(I, H, bias=bias, proj_size=proj, bidirectional=True)
    elif kind == "gru":
        m = torch.nn.GRU(I, H, bias=bias, bidirectional=True)
    else:
        m = torch.nn.RNN(I, H, nonlinearity=kind, bias=bias, bidirectional=True)
    return m.to(getattr(torch, dtype))


def _weights(m, d):
    sfx = "_l0" + ("_reverse" if d else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if m.bias else []) + \
        (["weight_hr"] if getattr(m, "proj_size", 0) else [])
    return [getattr(m, n + sfx) for n in names]


def _apply(kind, x, h0, c0, ws, **opts):
    if kind == "lstm":
        if len(ws) in (2, 3):         # no biases: the op's inputs are (…, bias_ih?, bias_hh?, weight_hr?)
            ws = list(ws[:2]) + [None, None] + list(ws[2:])
        return LSTMSequence.apply(x, h0, c0, *ws, **opts)
    if kind == "gru":
        return GRUSequence.apply(x, h0, *ws, **opts)
    return RNNSequence.apply(x, h0, *ws, nonlinearity=kind, **opts)


OP_GRID = [(kind, bias, proj, d)
           for kind in ("tanh", "relu", "lstm", "gru")
           for bias in (True, False)
           for proj in ((0, 3) if kind == "lstm" else (0,))
           for d in (0, 1)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind,bias,proj,d", OP_GRID, ids=lambda v: str(v))
def test_sequence_op_matches_torch_layer(kind, bias, proj, d, dtype):
    ftol, gtol = TOL[dtype]
    npd = np.dtype(dtype)
    tm = _torch_layer(kind, bias, proj, dtype)
    P = proj or H
    x = rand(T, B, I, seed=1).astype(npd)
    h0 = rand(2, B, P, seed=2).astype(npd)
    c0 = rand(2, B, H, seed=3).astype(npd)
    tx = torch.tensor(x, requires_grad=True)
    th, tc = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    if kind == "lstm":
        ty, (thn, tcn) = tm(tx, (th, tc))
    else:
        ty, thn = tm(tx, th)
    ty = ty[..., d * P:(d + 1) * P]
    lx = lw.tensor(x.reshape(T * B, I), requires_grad=True)
    lh, lc = lw.tensor(h0[d], requires_grad=True), lw.tensor(c0[d], requires_grad=True)
    lws = [lw.tensor(w.detach().numpy().copy(), requires_grad=True) for w in _weights(tm, d)]
    outs = _apply(kind, lx, lh, lc, lws, reverse=bool(d))
    assert outs[0].dtype == lx.dtype and outs[1].dtype == lx.dtype
    assert_close(outs[0].detach().numpy().reshape(T, B, P), ty.detach().numpy(), ftol, "y")
    assert_close(outs[1].detach().numpy(), thn[d].detach().numpy(), ftol, "h_n")
    rng = np.random.default_rng(7)
    wy, wh, wc = (rng.standard_normal(s).astype(npd) for s in ((T, B, P), (B, P), (B, H)))
    tl = (ty * torch.tensor(wy)).sum() + (thn[d] * torch.tensor(wh)).sum()
    ll = (outs[0].reshape(T, B, P) * lw.tensor(wy)).sum() + (outs[1] * lw.tensor(wh)).sum()
    if kind == "lstm":
        assert_close(outs[2].detach().numpy(), tcn[d].detach().numpy(), ftol, "c_n")
        tl = tl + (tcn[d] * torch.tensor(wc)).sum()
        ll = ll + (outs[2] * lw.tensor(wc)).sum()
    tl.backward()
    ll.backward()
    assert_close(lx.grad.numpy(), tx.grad.numpy().reshape(T * B, I), gtol, "dx")
    assert_close(lh.grad.numpy(), th.grad[d].numpy(), gtol, "dh0")
    if kind == "lstm":
        assert_close(lc.grad.numpy(), tc.grad[d].numpy(), gtol, "dc0")
    for lwt, tw in zip(lws, _weights(tm, d)):
        assert lwt.grad.dtype == lwt.dtype
        assert_close(lwt.grad.numpy(), tw.grad.numpy(), gtol, f"d/d weight {tuple(tw.shape)}")


def _packed_case(seed=0):
    lengths = [5, 3, 3, 1]                     # sorted, as the ops expect
    batch_sizes = tuple(int(sum(L > t for L in lengths)) for t in range(lengths[0]))
    rng = np.random.default_rng(seed)
    seqs = [rng.uniform(-2, 2, (L, I)) for L in lengths]
    data = np.concatenate([np.stack([seqs[b][t] for b in range(n)]) for t, n in enumerate(batch_sizes)])
    return lengths, batch_sizes, seqs, data


@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
def test_packed_steps_equal_each_sequence_alone(kind, reverse):
    """With per-step batch sizes every sequence runs exactly as if it were alone: its own
    length, its h_n at its own last step (the first position for the reverse direction)."""
    lengths, batch_sizes, seqs, data = _packed_case()
    nb = len(lengths)
    rng = np.random.default_rng(1)
    G = {"lstm": 4, "gru": 3}.get(kind, 1)
    ws = [lw.tensor(rng.uniform(-0.5, 0.5, s)) for s in ((G * H, I), (G * H, H), (G * H,), (G * H,))]
    h0 = rng.uniform(-1, 1, (nb, H))
    c0 = rng.uniform(-1, 1, (nb, H))
    packed = _apply(kind, lw.tensor(data), lw.tensor(h0), lw.tensor(c0), ws,
                    batch_sizes=batch_sizes, reverse=reverse)
    offs = np.concatenate([[0], np.cumsum(batch_sizes)])
    for b, L in enumerate(lengths):
        alone = _apply(kind, lw.tensor(seqs[b]), lw.tensor(h0[b:b + 1]), lw.tensor(c0[b:b + 1]), ws,
                       reverse=reverse)
        rows = [offs[t] + b for t in range(L)]
        np.testing.assert_allclose(packed[0].numpy()[rows], alone[0].numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(packed[1].numpy()[b], alone[1].numpy()[0], rtol=1e-12, atol=1e-12)
        if kind == "lstm":
            np.testing.assert_allclose(packed[2].numpy()[b], alone[2].numpy()[0], rtol=1e-12, atol=1e-12)
        if reverse:     # the reverse direction ends at position 0: h_n is the output there
            np.testing.assert_array_equal(packed[1].numpy()[b], packed[0].numpy()[b])


GRADCHECK_GRID = [(kind, packed, reverse, proj)
                  for kind in ("tanh", "relu", "lstm", "gru")
                  for packed in (False, True)
                  for reverse in (False, True)
                  for proj in ((0, 2) if kind == "lstm" else (0,))]


@pytest.mark.parametrize("kind,packed,reverse,proj", GRADCHECK_GRID, ids=lambda v: str(v))
def test_sequence_op_gradcheck(kind, packed, reverse, proj):
    rng = np.random.default_rng(3)
    G = {"lstm": 4, "gru": 3}.get(kind, 1)
    P = proj or H
    if packed:
        lengths, batch_sizes, _, data = _packed_case(seed=4)
        nb, opts = len(lengths), dict(batch_sizes=batch_sizes)
    else:
        data, nb, opts = rng.uniform(-2, 2, (T * B, I)), B, {}
    shapes = [(G * H, I), (G * H, P), (G * H,), (G * H,)] + ([(P, H)] if proj else [])
    ws = [lw.tensor(rng.uniform(-0.6, 0.6, s), requires_grad=True) for s in shapes]
    x = lw.tensor(data, requires_grad=True)
    h0 = lw.tensor(rng.uniform(-1, 1, (nb, P)), requires_grad=True)
    c0 = lw.tensor(rng.uniform(-1, 1, (nb, H)), requires_grad=True)
    if kind == "relu":          # keep pre-activations away from the kink at 0
        for w in ws[2:4]:
            w.array += 0.3
    inputs = [x, h0] + ([c0] if kind == "lstm" else []) + ws
    if kind == "lstm":
        fn = lambda x, h0, c0, *ws: LSTMSequence.apply(x, h0, c0, *ws, reverse=reverse, **opts)  # noqa: E731
    else:
        fn = lambda x, h0, *ws: _apply(kind, x, h0, None, ws, reverse=reverse, **opts)  # noqa: E731
    assert lw.autograd.gradcheck(fn, inputs, n_directions=4)


def test_gather_and_scatter_rows_gradcheck():
    rng = np.random.default_rng(0)
    x = lw.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    host_idx = np.array([5, 0, 7, 2, 11])
    idx = asarray(host_idx)                           # an option array: on the device
    assert lw.autograd.gradcheck(lambda x: GatherRows.apply(x, index=idx, lead=2), [x])
    d = lw.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    out = ScatterRows.apply(d, index=idx, n_rows=12, fill=-1.5)
    np.testing.assert_array_equal(out.detach().numpy()[host_idx], d.detach().numpy())
    assert (np.delete(out.detach().numpy(), host_idx, axis=0) == -1.5).all()
    assert lw.autograd.gradcheck(lambda d: ScatterRows.apply(d, index=idx, n_rows=12, fill=0.0), [d])


def _count_nodes(t):
    seen, stack = set(), [t._node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(e[0] for e in node.edges if e is not None and e[1] is not None)
    return len(seen)


def test_one_autograd_node_per_sequence():
    x = lw.tensor(rand(50 * 2, I), requires_grad=True)
    ws = [lw.tensor(rand(4 * H, I), requires_grad=True), lw.tensor(rand(4 * H, H), requires_grad=True)]
    y, h, c = LSTMSequence.apply(x, lw.zeros(2, H, dtype=lw.float64), lw.zeros(2, H, dtype=lw.float64),
                                 *ws)
    assert type(y._node).__name__ == "LSTMSequence" and y._node is h._node is c._node
    assert _count_nodes(y.sum()) == 2          # the sum and the whole 50-step sequence


@pytest.mark.parametrize("kind", ["tanh", "lstm", "gru"])
def test_retained_graph_keeps_its_buffers_while_others_run(kind):
    """The recycled workspace never hands out arrays a retained graph still needs."""
    clear_workspace()
    rng = np.random.default_rng(5)
    G = {"lstm": 4, "gru": 3}.get(kind, 1)
    N, nb, Hs = 40 * 8, 8, 64                  # arrays large enough to be recycled
    ws = [lw.tensor(rng.uniform(-0.2, 0.2, s).astype(np.float32), requires_grad=True)
          for s in ((G * Hs, 5), (G * Hs, Hs))]
    h0 = lw.zeros(nb, Hs)

    def run(seed):
        x = lw.tensor(np.random.default_rng(seed).standard_normal((N, 5)).astype(np.float32),
                      requires_grad=True)
        return x, _apply(kind, x, h0, h0, ws)[0].sum()

    x1, loss1 = run(1)
    loss1.backward(retain_graph=True)
    g1 = x1.grad.numpy().copy()
    for seed in (2, 3):                        # other sequences, forward and backward
        run(seed)[1].backward()
    x1.grad = None
    loss1.backward()                           # the retained graph, again
    np.testing.assert_array_equal(x1.grad.numpy(), g1)
    x4, loss4 = run(1)                         # recycled buffers give the same numbers
    loss4.backward()
    np.testing.assert_array_equal(x4.grad.numpy(), g1)


def test_in_place_changes_before_backward_are_caught():
    """The op saves its output and weights themselves, so the version counters guard them."""
    x = lw.tensor(rand(4 * B, I), requires_grad=True)
    w_ih, w_hh = lw.tensor(rand(3 * H, I), requires_grad=True), lw.tensor(rand(3 * H, H), requires_grad=True)
    h0 = lw.zeros(B, H, dtype=lw.float64)
    y, _ = GRUSequence.apply(x, h0, w_ih, w_hh)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="needed for the gradient of GRUSequence was modified"):
        y.sum().backward()
    y, _ = GRUSequence.apply(x, h0, w_ih, w_hh)
    with lw.no_grad():
        w_hh.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
