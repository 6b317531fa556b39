"""Convolution ops (functional forms) against torch and against a plain reference.

A declarative grid per op (strides 1/2/3 and tuples, paddings 0/1/tuple/'same' with odd and even
kernels/'valid', dilations, groups incl. depthwise, non-square kernels, odd sizes, batch of 1,
unbatched, bias on/off) compared with torch in float32 and float64 (forward, input, weight and
bias gradients).  The fast op is also checked against the slow reference below — direct loops
over output positions, written from the definition — with the batch cut into several chunks, and
by float64 finite differences on a subset.
"""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import conv as lw_conv
from layerwise.ops import conv as conv_ops
from parity import gradcheck, parity, rand

# torch warns that it copies the input for 'same' with an even kernel; layerwise pads anyway.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def F(m):
    """The functional namespace of either library (layerwise's lives in nn/conv.py)."""
    return torch.nn.functional if m is torch else lw_conv


# ------------------------------------------------------------------------ slow reference
def ref_pads(padding, kernel, dilation):
    """((lo, hi), ...) from a padding argument; 'same' puts the odd extra pad on the right/bottom."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
    p = (padding,) * len(kernel) if isinstance(padding, int) else padding
    return [(q, q) for q in p]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def ref_conv2d(x, w, b, stride, pads, dilation, groups, g=None):
    """The definition, one output position at a time.  With ``g`` (dL/dA) also returns dL/dX and
    dL/dK: each output position adds g·K to the input patch it read and g·patch to K."""
    (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = stride, dilation, pads
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    Og = O // groups
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, O, Ho, Wo))
    dxp, dk = np.zeros_like(xp), np.zeros_like(w)
    for gi in range(groups):
        ci, oi = slice(gi * Cg, (gi + 1) * Cg), slice(gi * Og, (gi + 1) * Og)
        for r in range(Ho):
            for c in range(Wo):
                win = (slice(None), ci, slice(r * sh, r * sh + dh * (kh - 1) + 1, dh),
                       slice(c * sw, c * sw + dw * (kw - 1) + 1, dw))
                patch = xp[win]                                            # (N, Cg, kh, kw)
                y[:, oi, r, c] = np.einsum("nckl,ockl->no", patch, w[oi])
                if g is not None:
                    dxp[win] += np.einsum("no,ockl->nckl", g[:, oi, r, c], w[oi])
                    dk[oi] += np.einsum("no,nckl->ockl", g[:, oi, r, c], patch)
    if b is not None:
        y += b[:, None, None]
    if g is None:
        return y
    return y, dxp[:, :, pt:pt + H, pl:pl + W], dk, g.sum(axis=(0, 2, 3))


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """The definition as a scatter: every input pixel adds its kernel-weighted copy to the output."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    N, Cin, H, W = x.shape
    _, Cog, kh, kw = w.shape
    Cig = Cin // groups
    Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    full = np.zeros((N, Cog * groups, Ho + 2 * ph, Wo + 2 * pw))
    for gi in range(groups):
        ci, oi = slice(gi * Cig, (gi + 1) * Cig), slice(gi * Cog, (gi + 1) * Cog)
        for r in range(H):
            for c in range(W):
                full[:, oi, r * sh:r * sh + dh * (kh - 1) + 1:dh, c * sw:c * sw + dw * (kw - 1) + 1:dw] += \
                    np.einsum("nc,cokl->nokl", x[:, ci, r, c], w[ci])
    y = full[:, :, ph:ph + Ho, pw:pw + Wo]
    return y if b is None else y + b[:, None, None]


# ------------------------------------------------------------------------ conv2d grid
# x: input shape, w: weight shape, bias: with a bias (default True), the rest: conv2d kwargs.
CONV2D = [
    dict(x=(2, 3, 8, 8), w=(4, 3, 3, 3)),
    dict(x=(2, 3, 8, 8), w=(4, 3, 3, 3), stride=2, bias=False),
    dict(x=(2, 3, 9, 7), w=(4, 3, 3, 3), stride=3, padding=1),
    dict(x=(2, 3, 9, 8), w=(4, 3, 3, 2), stride=(2, 1), padding=(1, 0)),
    dict(x=(1, 3, 7, 7), w=(5, 3, 3, 3), padding=1),
    dict(x=(2, 3, 7, 6), w=(4, 3, 2, 4), stride=(3, 2), padding=(2, 1)),
    dict(x=(2, 4, 8, 8), w=(6, 2, 3, 3), groups=2, padding=1),
    dict(x=(2, 4, 7, 9), w=(4, 1, 3, 3), groups=4, padding=1, stride=2),          # depthwise
    dict(x=(2, 4, 8, 8), w=(8, 1, 3, 2), groups=4, bias=False),                   # depth multiplier 2
    dict(x=(2, 8, 6, 6), w=(4, 2, 3, 3), groups=4, padding=1),                    # 1 output per group
    dict(x=(2, 3, 10, 9), w=(4, 3, 3, 3), dilation=2, padding=2),
    dict(x=(2, 3, 10, 9), w=(4, 3, 2, 3), dilation=(2, 1), padding=(1, 2), stride=(1, 2)),
    dict(x=(2, 3, 8, 7), w=(4, 3, 3, 3), padding="same"),
    dict(x=(2, 3, 8, 7), w=(4, 3, 4, 2), padding="same"),                         # even kernel
    dict(x=(2, 3, 8, 7), w=(4, 3, 4, 4), padding="same", dilation=(1, 2)),
    dict(x=(2, 3, 8, 7), w=(4, 3, 3, 3), padding="valid"),
    dict(x=(2, 3, 5, 5), w=(4, 3, 1, 1)),                                         # 1×1: no im2col
    dict(x=(2, 4, 5, 5), w=(6, 2, 1, 1), groups=2),
    dict(x=(2, 3, 5, 5), w=(4, 3, 1, 1), stride=2),
    dict(x=(2, 3, 4, 4), w=(4, 3, 4, 4)),                                         # kernel = input
    dict(x=(3, 6, 5), w=(4, 3, 3, 3), padding=1),                                 # unbatched
]


def _split(case):
    case = dict(case)
    x, w, bias = case.pop("x"), case.pop("w"), case.pop("bias", True)
    return x, w, bias, case


@pytest.mark.parametrize("case", CONV2D, ids=str)
def test_conv2d_vs_torch(case):
    x, w, bias, kw = _split(case)
    args = [rand(*x, seed=1), rand(*w, seed=2)] + ([rand(w[0], seed=3)] if bias else [])
    parity(lambda m, *a: F(m).conv2d(*a, **kw), *args, what=f"conv2d({case})")


# (samples per chunk, WIDE_MAX_FLOPS): the defaults (here the whole batch in one chunk); one sample
# per chunk with rows never wide; 2 per chunk (uneven: 2 + 1) with rows wide wherever the stride
# allows.
LAYOUTS = [(None, None), (1, -1), (2, 10**9)]


def _layout(monkeypatch, per_chunk, wide_max_flops):
    if per_chunk is not None:
        monkeypatch.setattr(conv_ops.Geometry, "chunk", lambda self, itemsize: min(self.N, per_chunk))
    if wide_max_flops is not None:
        monkeypatch.setattr(conv_ops, "WIDE_MAX_FLOPS", wide_max_flops)


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("case", [c for c in CONV2D if len(c["x"]) == 4], ids=str)
def test_conv2d_vs_reference(case, layout, monkeypatch):
    """The fast op against the direct loops, with the batch in one chunk or several and narrow or
    wide rows (see conv_ops.Geometry)."""
    _layout(monkeypatch, *layout)
    xs, ws, bias, kw = _split(case)
    xs = (3,) + xs[1:]                                    # 3 samples: uneven chunks are possible
    x, w = rand(*xs, seed=4), rand(*ws, seed=5)
    b = rand(ws[0], seed=6) if bias else None
    stride, dilation = _pair(kw.get("stride", 1)), _pair(kw.get("dilation", 1))
    pads = ref_pads(kw.get("padding", 0), ws[2:], dilation)
    g = _grad_like(x, w, kw)
    y_ref, dx_ref, dw_ref, db_ref = ref_conv2d(x, w, b, stride, pads, dilation, kw.get("groups", 1), g=g)
    tx, tw = lw.tensor(x, requires_grad=True), lw.tensor(w, requires_grad=True)
    tb = lw.tensor(b, requires_grad=True) if bias else None
    y = lw_conv.conv2d(tx, tw, tb, **kw)
    (y * lw.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tx.grad.numpy(), dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), dw_ref, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(tb.grad.numpy(), db_ref, rtol=1e-12, atol=1e-12)


def _grad_like(x, w, kw):
    """A fixed random dL/dA of the right shape for this case."""
    shape = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw).shape
    return rand(*shape, seed=7)


def test_float32_stays_float32():
    x = lw.tensor(rand(2, 3, 6, 6).astype(np.float32), requires_grad=True)
    w = lw.tensor(rand(4, 3, 3, 3).astype(np.float32), requires_grad=True)
    b = lw.tensor(rand(4).astype(np.float32), requires_grad=True)
    y = lw_conv.conv2d(x, w, b, padding=1)
    y.sum().backward()
    assert y.dtype == lw.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == lw.float32


def test_layouts_are_exercised(monkeypatch):
    """The LAYOUTS above do switch the code paths they are meant to."""
    geo = lambda: conv_ops.Geometry((3, 4, 8, 8), (6, 4, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert geo().wide and geo().chunk(8) == 3
    _layout(monkeypatch, 1, -1)
    assert not geo().wide and geo().chunk(8) == 1
    _layout(monkeypatch, 2, 10**9)
    assert geo().wide and geo().chunk(8) == 2


@pytest.mark.parametrize("wide_max_flops", [-1, 10**9])
@pytest.mark.parametrize("case", [c for c in CONV2D if len(c["x"]) == 4], ids=str)
def test_windows_stay_inside_the_buffer(case, wide_max_flops, monkeypatch):
    """The strided window views (built with as_strided, so numpy cannot check them) never reach
    past the padded buffer: the wide rows' overhang lands in its tail."""
    from numpy.lib.array_utils import byte_bounds
    monkeypatch.setattr(conv_ops, "WIDE_MAX_FLOPS", wide_max_flops)
    xs, ws, _, kw = _split(case)
    stride, dilation = _pair(kw.get("stride", 1)), _pair(kw.get("dilation", 1))
    pads = ref_pads(kw.get("padding", 0), ws[2:], dilation)
    geo = conv_ops.Geometry(xs, ws, stride, pads, dilation, kw.get("groups", 1))
    flat, _ = geo.padded_buffer(xs[0], np.float64, np)
    lo, hi = byte_bounds(flat)
    for _, win in geo.windows(flat, xs[0]):
        a, b = byte_bounds(win)
        assert lo <= a and b <= hi


def test_non_contiguous_input():
    parity(lambda m, x, w: F(m).conv2d(x.transpose(2, 3), w, padding=1), rand(2, 3, 7, 6), rand(4, 3, 3, 2))
    parity(lambda m, x, w: F(m).conv_transpose2d(x.transpose(2, 3), w, stride=2), rand(2, 4, 5, 4),
           rand(4, 3, 3, 3))


@pytest.mark.parametrize("fn,x,w", [
    (lw_conv.conv2d, rand(2, 3, 6, 6), rand(4, 3, 3, 3)),
    (lw_conv.conv1d, rand(2, 3, 6), rand(4, 3, 3)),
    (lw_conv.conv_transpose1d, rand(2, 4, 6), rand(4, 3, 3)),
], ids=["conv2d", "conv1d", "conv_transpose1d"])
def test_in_place_change_before_backward_is_caught(fn, x, w):
    for which in (0, 1):
        tx, tw = lw.tensor(x, requires_grad=True), lw.tensor(w, requires_grad=True)
        y = fn(tx, tw)
        with lw.no_grad():
            (tx, tw)[which].add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            y.sum().backward()


def test_only_needed_gradients():
    """A weight that does not require grad gets none, and the input gradient is still right."""
    x = rand(2, 3, 6, 6)
    w = rand(4, 3, 3, 3)
    tx = lw.tensor(x, requires_grad=True)
    y = lw_conv.conv2d(tx, lw.tensor(w), padding=1)
    y.sum().backward()
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.conv2d(t, torch.tensor(w), padding=1).sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ conv1d grid
CONV1D = [
    dict(x=(2, 3, 9), w=(4, 3, 3)),
    dict(x=(2, 3, 10), w=(4, 3, 3), stride=2, padding=1),
    dict(x=(1, 3, 11), w=(4, 3, 4), stride=3, padding=(2,), bias=False),
    dict(x=(2, 4, 9), w=(4, 1, 3), groups=4, padding=1),                          # depthwise
    dict(x=(2, 4, 9), w=(6, 2, 3), groups=2, dilation=2),
    dict(x=(2, 3, 8), w=(4, 3, 4), padding="same"),                               # even kernel
    dict(x=(2, 3, 8), w=(4, 3, 3), padding="same", dilation=3),
    dict(x=(2, 3, 8), w=(4, 3, 3), padding="valid"),
    dict(x=(2, 3, 8), w=(5, 3, 1)),
    dict(x=(3, 8), w=(4, 3, 3), padding=1),                                       # unbatched
]


@pytest.mark.parametrize("case", CONV1D, ids=str)
def test_conv1d_vs_torch(case):
    x, w, bias, kw = _split(case)
    args = [rand(*x, seed=1), rand(*w, seed=2)] + ([rand(w[0], seed=3)] if bias else [])
    parity(lambda m, *a: F(m).conv1d(*a, **kw), *args, what=f"conv1d({case})")


def test_conv1d_is_conv2d_with_height_1():
    x, w, b = rand(2, 3, 9, seed=1), rand(4, 3, 3, seed=2), rand(4, seed=3)
    y1 = lw_conv.conv1d(lw.tensor(x), lw.tensor(w), lw.tensor(b), stride=2, padding=1)
    y_ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), [(0, 0), (1, 1)], (1, 1), 1)
    np.testing.assert_allclose(y1.numpy(), y_ref[:, :, 0], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ transposed grids
CONVT2D = [
    dict(x=(2, 4, 5, 5), w=(4, 3, 3, 3)),
    dict(x=(2, 4, 5, 4), w=(4, 3, 3, 3), stride=2),
    dict(x=(2, 4, 5, 4), w=(4, 3, 3, 3), stride=2, padding=1, output_padding=1),
    dict(x=(2, 4, 5, 6), w=(4, 2, 3, 2), stride=(3, 2), padding=(1, 0), output_padding=(2, 1)),
    dict(x=(1, 4, 5, 5), w=(4, 3, 3, 3), groups=2, bias=False),
    dict(x=(2, 4, 5, 5), w=(4, 1, 3, 3), groups=4, stride=2),                     # depthwise
    dict(x=(2, 4, 5, 5), w=(4, 3, 3, 3), dilation=2, padding=2),
    dict(x=(2, 4, 5, 5), w=(4, 3, 3, 2), dilation=(2, 3), output_padding=(1, 2)),  # op ≥ stride
    dict(x=(2, 4, 6, 6), w=(4, 3, 3, 3), padding=2),
    dict(x=(2, 4, 4, 4), w=(4, 3, 1, 1)),                                         # 1×1 direct
    dict(x=(2, 4, 4, 4), w=(4, 3, 1, 1), stride=2, output_padding=1),
    dict(x=(4, 5, 5), w=(4, 3, 3, 3), stride=2),                                  # unbatched
]


@pytest.mark.parametrize("case", CONVT2D, ids=str)
def test_conv_transpose2d_vs_torch(case):
    x, w, bias, kw = _split(case)
    out_ch = w[1] * kw.get("groups", 1)
    args = [rand(*x, seed=1), rand(*w, seed=2)] + ([rand(out_ch, seed=3)] if bias else [])
    parity(lambda m, *a: F(m).conv_transpose2d(*a, **kw), *args, what=f"conv_transpose2d({case})")


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("case", [c for c in CONVT2D if len(c["x"]) == 4], ids=str)
def test_conv_transpose2d_vs_reference(case, layout, monkeypatch):
    _layout(monkeypatch, *layout)
    xs, ws, bias, kw = _split(case)
    x, w = rand(*xs, seed=4), rand(*ws, seed=5)
    b = rand(ws[1] * kw.get("groups", 1), seed=6) if bias else None
    y = lw_conv.conv_transpose2d(lw.tensor(x), lw.tensor(w), None if b is None else lw.tensor(b), **kw)
    ref = ref_conv_transpose2d(x, w, b, _pair(kw.get("stride", 1)), _pair(kw.get("padding", 0)),
                               _pair(kw.get("output_padding", 0)), _pair(kw.get("dilation", 1)),
                               kw.get("groups", 1))
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)


CONVT1D = [
    dict(x=(2, 4, 6), w=(4, 3, 3)),
    dict(x=(2, 4, 6), w=(4, 3, 3), stride=2, padding=1, output_padding=1),
    dict(x=(1, 4, 7), w=(4, 2, 4), stride=3, groups=2, dilation=2, bias=False),
    dict(x=(4, 6), w=(4, 3, 2), stride=2),                                        # unbatched
]


@pytest.mark.parametrize("case", CONVT1D, ids=str)
def test_conv_transpose1d_vs_torch(case):
    x, w, bias, kw = _split(case)
    out_ch = w[1] * kw.get("groups", 1)
    args = [rand(*x, seed=1), rand(*w, seed=2)] + ([rand(out_ch, seed=3)] if bias else [])
    parity(lambda m, *a: F(m).conv_transpose1d(*a, **kw), *args, what=f"conv_transpose1d({case})")


def test_conv_transpose_is_the_conv_input_gradient():
    """conv_transpose2d(g, K) equals dL/dX of conv2d(X, K) at dL/dA = g, as the docstring says."""
    x = lw.tensor(rand(2, 3, 9, 8, seed=1), requires_grad=True)
    w = rand(4, 3, 3, 3, seed=2)
    y = lw_conv.conv2d(x, lw.tensor(w), stride=2, padding=1)
    g = rand(*y.shape, seed=3)
    (y * lw.tensor(g)).sum().backward()
    t = lw_conv.conv_transpose2d(lw.tensor(g), lw.tensor(w), stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(t.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ non-zero padding op
@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
def test_pad_op_matches_numpy_and_sums_gradients(mode, np_mode):
    x = rand(2, 3, 4, 5, seed=1)
    pads = ((2, 1), (3, 0))
    y = conv_ops.Pad.apply(lw.tensor(x), pads=pads, mode=mode)
    np.testing.assert_array_equal(y.numpy(), np.pad(x, ((0, 0), (0, 0)) + pads, mode=np_mode))
    gradcheck(lambda m, a: conv_ops.Pad.apply(a, pads=pads, mode=mode), x)
    # each source element's gradient counts the padded positions that copied it
    xt = lw.tensor(x, requires_grad=True)
    conv_ops.Pad.apply(xt, pads=pads, mode=mode).sum().backward()
    counts = np.zeros(x.shape)
    idx = np.pad(np.arange(x.size).reshape(x.shape), ((0, 0), (0, 0)) + pads, mode=np_mode)
    np.add.at(counts.reshape(-1), idx.reshape(-1), 1)
    np.testing.assert_array_equal(xt.grad.numpy(), counts)


# ------------------------------------------------------------------------ gradchecks
GRADCHECK = [
    ("conv2d", lambda m, x, w, b: F(m).conv2d(x, w, b, stride=2, padding=1),
     [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]),
    ("conv2d groups dilation", lambda m, x, w, b: F(m).conv2d(x, w, b, padding="same", dilation=2,
                                                              groups=2),
     [(2, 4, 7, 6), (6, 2, 2, 3), (6,)]),
    ("conv1d", lambda m, x, w, b: F(m).conv1d(x, w, b, stride=3, padding=2), [(2, 3, 11), (4, 3, 3), (4,)]),
    ("conv_transpose2d", lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=2, padding=1,
                                                                  output_padding=1, groups=2),
     [(2, 4, 4, 5), (4, 3, 3, 3), (6,)]),
    ("conv_transpose1d", lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, stride=2, dilation=2),
     [(2, 3, 5), (3, 2, 3), (2,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    gradcheck(fn, *[rand(*s, seed=i) for i, s in enumerate(shapes)])


# ------------------------------------------------------------------------ functional errors
def test_functional_errors():
    x = lw.tensor(rand(2, 3, 5, 5))
    w = lw.tensor(rand(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"conv2d: expected input of shape \(N, 3, H, W\), got \(2, 5, 5, 3\)"):
        lw_conv.conv2d(lw.tensor(rand(2, 5, 5, 3)), w)
    with pytest.raises(RuntimeError, match=r"conv2d: expected input of shape \(N, 3, H, W\), got \(5, 5\)"):
        lw_conv.conv2d(lw.tensor(rand(5, 5)), w)
    with pytest.raises(RuntimeError, match=r"kernel size \(3, 3\) \(dilated: \(9, 9\)\) is larger than "
                                           r"the padded input \(7, 7\)"):
        lw_conv.conv2d(x, w, padding=1, dilation=4)
    with pytest.raises(RuntimeError, match=r"not supported for strided"):
        lw_conv.conv2d(x, w, padding="same", stride=2)
    with pytest.raises(RuntimeError, match=r"invalid padding string 'full'"):
        lw_conv.conv2d(x, w, padding="full")
    with pytest.raises(RuntimeError, match=r"not divisible by groups=3"):
        lw_conv.conv2d(lw.tensor(rand(2, 3, 5, 5)), lw.tensor(rand(4, 1, 3, 3)), groups=3)
    with pytest.raises(RuntimeError, match=r"expected a bias of shape \(4,\), got \(3,\)"):
        lw_conv.conv2d(x, w, lw.tensor(rand(3)))
    with pytest.raises(TypeError, match=r"input dtype float32 does not match the weight dtype float64"):
        lw_conv.conv2d(x.float(), w)
    with pytest.raises(RuntimeError, match=r"output size \(0,\) is too small"):
        lw_conv.conv_transpose1d(lw.tensor(rand(1, 4, 2)), lw.tensor(rand(4, 2, 1)), padding=1)
    with pytest.raises(RuntimeError, match=r"output_padding \(2, 2\) must be smaller than either stride"):
        lw_conv.conv_transpose2d(lw.tensor(rand(1, 4, 3, 3)), lw.tensor(rand(4, 2, 3, 3)), stride=2,
                                 output_padding=2)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: expected input of shape \(N, 4, H, W\)"):
        lw_conv.conv_transpose2d(lw.tensor(rand(1, 3, 3, 3)), lw.tensor(rand(4, 2, 3, 3)))
