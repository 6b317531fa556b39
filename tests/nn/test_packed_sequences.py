"""Variable-length sequences against torch.nn.utils.rnn: pad_sequence, pack_padded_sequence,
pack_sequence, pad_packed_sequence, invert_permutation and PackedSequence — values, batch sizes,
sorted/unsorted indices, gradients through pack and unpack — and every recurrent layer given a
PackedSequence (sorted or not, both directions, with h0/c0 in the caller's order), the padded
steps never computed, and the errors."""
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as TR

import layerwise as lw
from layerwise.nn import rnn as lw_rnn
from layerwise.nn.utils import rnn as R
from parity import assert_close, copy_torch_params, rand

LENGTHS = [3, 6, 1, 4]                 # distinct, unsorted
T, B, I, H = 6, 4, 3, 5


def _both(arr, grad=True):
    return (lw.tensor(arr, requires_grad=grad), torch.tensor(arr, requires_grad=grad))


def _check_grads(lw_out, th_out, lw_in, th_in, seed=0, tol=1e-12):
    w = np.random.default_rng(seed).standard_normal(tuple(th_out.shape))
    (th_out * torch.tensor(w)).sum().backward()
    (lw_out * lw.tensor(w)).sum().backward()
    for a, b in zip(lw_in, th_in):
        assert_close(a.grad.numpy(), b.grad.numpy(), tol, "grad")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2, 3)])
def test_pad_sequence(batch_first, side, trailing):
    seqs = [rand(L, *trailing, seed=L) for L in LENGTHS]
    lw_s, th_s = zip(*[_both(s) for s in seqs])
    a = R.pad_sequence(list(lw_s), batch_first=batch_first, padding_value=-7.0, padding_side=side)
    b = TR.pad_sequence(list(th_s), batch_first=batch_first, padding_value=-7.0, padding_side=side)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    _check_grads(a, b, lw_s, th_s)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_padded_sequence_and_back(batch_first, enforce_sorted, as_tensor):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    x = rand(B, T, 2) if batch_first else rand(T, B, 2)
    lx, tx = _both(x)
    a = R.pack_padded_sequence(lx, lw.tensor(np.array(lengths)) if as_tensor else lengths,
                               batch_first=batch_first, enforce_sorted=enforce_sorted)
    b = TR.pack_padded_sequence(tx, torch.tensor(lengths) if as_tensor else lengths,
                                batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(a, R.PackedSequence) and isinstance(a, tuple) and a._fields == b._fields
    np.testing.assert_array_equal(a.data.detach().numpy(), b.data.detach().numpy())
    np.testing.assert_array_equal(a.batch_sizes.numpy(), b.batch_sizes.numpy())
    assert a.batch_sizes.dtype == lw.int64
    for f in ("sorted_indices", "unsorted_indices"):
        if getattr(b, f) is None:
            assert getattr(a, f) is None
        else:
            np.testing.assert_array_equal(getattr(a, f).numpy(), getattr(b, f).numpy())
    # gradient through pack: zero at the padded positions
    w = np.random.default_rng(0).standard_normal(tuple(b.data.shape))
    (b.data * torch.tensor(w)).sum().backward(retain_graph=True)
    (a.data * lw.tensor(w)).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(lx.grad.numpy(), tx.grad.numpy())
    lx.grad = None
    tx.grad = None
    # and back
    for total in (None, 8):
        pa, la = R.pad_packed_sequence(a, batch_first=batch_first, padding_value=1.5, total_length=total)
        pb, lb = TR.pad_packed_sequence(b, batch_first=batch_first, padding_value=1.5, total_length=total)
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
        np.testing.assert_array_equal(la.numpy(), lb.numpy())
        assert la.dtype == lw.int64
    _check_grads(pa, pb, [lx], [tx], seed=1)


def test_pack_sequence_invert_permutation_and_unpack():
    seqs = [rand(L, 2, seed=L) for L in LENGTHS]
    a = R.pack_sequence([lw.tensor(s) for s in seqs], enforce_sorted=False)
    b = TR.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(a.data.numpy(), b.data.numpy())
    np.testing.assert_array_equal(a.unsorted_indices.numpy(), b.unsorted_indices.numpy())
    perm = np.array([2, 0, 3, 1])
    np.testing.assert_array_equal(R.invert_permutation(lw.tensor(perm)).numpy(),
                                  TR.invert_permutation(torch.tensor(perm)).numpy())
    assert R.invert_permutation(None) is None
    for s, u in zip(seqs, R.unpack_sequence(a)):
        np.testing.assert_array_equal(u.numpy(), s)
    p2 = R.PackedSequence(a.data, a.batch_sizes, a.sorted_indices)      # unsorted filled in
    np.testing.assert_array_equal(p2.unsorted_indices.numpy(), a.unsorted_indices.numpy())
    assert a.float().data.dtype == lw.float32 and a.double().data.dtype == lw.float64


def test_packing_errors():
    x = lw.zeros(3, 2, 4)
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        R.pack_padded_sequence(x, [3, 0])
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order when "
                                           "`enforce_sorted` is True"):
        R.pack_padded_sequence(x, [2, 3])
    with pytest.raises(RuntimeError, match=r"a length \(4\) is longer than the padded sequence \(3 steps in dim 0 "
                                           r"of the input of shape \(3, 2, 4\)\); check the lengths, and batch_first=False"):
        R.pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 3 \(batch_size=2\)"):
        R.pack_padded_sequence(x, [3, 2, 1])
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)"):
        R.pack_padded_sequence(x, [3, 2], batch_first=True)           # the batch_first symptom
    with pytest.raises(TypeError, match="lengths must be integers"):
        R.pack_padded_sequence(x, [2.5, 1.0])
    packed = R.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest "
                                         "sequence in input, but got total_length=2 and max sequence length being 3"):
        R.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got mid."):
        R.pad_sequence([lw.zeros(2)], padding_side="mid")
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        R.pad_sequence([])
    with pytest.raises(RuntimeError, match=r"same trailing dims: sequence 0 is \(2, 3\), sequence 1 is \(2, 4\)"):
        R.pad_sequence([lw.zeros(2, 3), lw.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"^LSTM\(4, 6\): expected PackedSequence data of shape \(sum of lengths, 4\), "
                                           r"got \(5, 3\)"):
        lw_rnn.LSTM(4, 6)(R.pack_padded_sequence(lw.zeros(3, 2, 3), [3, 2]))


def _modules(kind, bidir, layers=2):
    extra = dict(proj_size=2) if kind == "LSTM" and layers == 2 and bidir else {}
    tm = getattr(torch.nn, kind)(I, H, num_layers=layers, bidirectional=bidir, **extra).double()
    lm = getattr(lw_rnn, kind)(I, H, num_layers=layers, bidirectional=bidir, **extra).double()
    copy_torch_params(tm, lm)
    return tm, lm, extra.get("proj_size", H)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_layers_on_packed_sequences_match_torch(kind, bidir, with_h0):
    tm, lm, P = _modules(kind, bidir)
    D = 2 if bidir else 1
    lx, tx = _both(rand(T, B, I))
    lp = R.pack_padded_sequence(lx, LENGTHS, enforce_sorted=False)
    tp = TR.pack_padded_sequence(tx, LENGTHS, enforce_sorted=False)
    ins_l, ins_t, hx_l, hx_t = [lx], [tx], None, None
    if with_h0:
        lh, th = _both(rand(2 * D, B, P, seed=1))           # in the caller's batch order
        ins_l.append(lh)
        ins_t.append(th)
        hx_l, hx_t = lh, th
        if kind == "LSTM":
            lc, tc = _both(rand(2 * D, B, H, seed=2))
            ins_l.append(lc)
            ins_t.append(tc)
            hx_l, hx_t = (lh, lc), (th, tc)
    lo, lhn = lm(lp, hx_l)
    to, thn = tm(tp, hx_t)
    assert isinstance(lo, R.PackedSequence)
    np.testing.assert_array_equal(lo.batch_sizes.numpy(), to.batch_sizes.numpy())
    np.testing.assert_array_equal(lo.unsorted_indices.numpy(), to.unsorted_indices.numpy())
    assert_close(lo.data.detach().numpy(), to.data.detach().numpy(), 1e-12, "packed output")
    lhs = list(lhn) if kind == "LSTM" else [lhn]
    ths = list(thn) if kind == "LSTM" else [thn]
    for a, b in zip(lhs, ths):
        assert_close(a.detach().numpy(), b.detach().numpy(), 1e-12, "h_n / c_n")
    ly, _ = R.pad_packed_sequence(lo, batch_first=True)
    ty, _ = TR.pad_packed_sequence(to, batch_first=True)
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(t.shape)) for t in [ty] + ths]
    sum((t * torch.tensor(w)).sum() for t, w in zip([ty] + ths, ws)).backward()
    sum((t * lw.tensor(w)).sum() for t, w in zip([ly] + lhs, ws)).backward()
    for a, b in zip(ins_l, ins_t):
        assert_close(a.grad.numpy(), b.grad.numpy(), 1e-10, "input/state grad")
    for (n, p), (_, q) in zip(lm.named_parameters(), tm.named_parameters()):
        assert_close(p.grad.numpy(), q.grad.numpy(), 1e-10, n)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_float32_parity(kind):
    tm = getattr(torch.nn, kind)(I, H, bidirectional=True)
    lm = getattr(lw_rnn, kind)(I, H, bidirectional=True)
    copy_torch_params(tm, lm)
    x = rand(T, B, I).astype(np.float32)
    lo, _ = lm(R.pack_padded_sequence(lw.tensor(x), LENGTHS, enforce_sorted=False))
    to, _ = tm(TR.pack_padded_sequence(torch.tensor(x), LENGTHS, enforce_sorted=False))
    assert lo.data.dtype == lw.float32
    assert_close(lo.data.detach().numpy(), to.data.detach().numpy(), 1e-5, "float32 packed")


def test_padding_is_never_read_and_reverse_starts_at_the_last_valid_step():
    """NaN in every padded position changes nothing: the padded steps are not computed.  The
    reverse direction starts at each sequence's own last step, so its final state is its output
    at position 0."""
    lm = lw_rnn.LSTM(I, H, bidirectional=True).double()
    x = rand(T, B, I)
    for b, L in enumerate(LENGTHS):
        x[L:, b] = np.nan
    out, (h_n, _) = lm(R.pack_padded_sequence(lw.tensor(x), LENGTHS, enforce_sorted=False))
    y, lengths = R.pad_packed_sequence(out)
    y = y.detach().numpy()
    assert np.isfinite(out.data.detach().numpy()).all()
    np.testing.assert_array_equal(lengths.numpy(), LENGTHS)
    for b, L in enumerate(LENGTHS):
        assert (y[L:, b] == 0).all()
        np.testing.assert_array_equal(h_n.detach().numpy()[1, b], y[0, b, H:])        # reverse
        np.testing.assert_array_equal(h_n.detach().numpy()[0, b], y[L - 1, b, :H])    # forward
        alone, _ = lm(lw.tensor(x[:L, b]))                                           # unbatched
        np.testing.assert_allclose(y[:L, b], alone.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_gradcheck_through_pack_rnn_unpack():
    lm = lw_rnn.GRU(I, 3, bidirectional=True).double()
    x = lw.tensor(rand(T, B, I), requires_grad=True)

    def f(x):
        out, h_n = lm(R.pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
        return R.pad_packed_sequence(out, total_length=T + 1)[0], h_n

    assert lw.autograd.gradcheck(f, [x], params=lm.parameters())
