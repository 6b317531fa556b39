"""Conv1d/Conv2d/ConvTranspose1d/ConvTranspose2d against torch: forward, input gradient and every
parameter gradient (torch's weights copied in) over a declarative grid that covers every
padding_mode, 'same' with odd and even kernels, groups, dilation, strides and unbatched inputs;
untied biases against a bias-free torch conv plus an added (out, H_out, W_out) parameter; torch's
default init, repr and parameter counts; and the error messages."""
import math

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.nn import conv as lw_conv
from parity import check_module, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def NN(m):
    """The layer namespace of either library (layerwise's conv layers live in nn/conv.py)."""
    return torch.nn if m is torch else lw_conv


# (layer, constructor args, constructor kwargs, input shape)
GRID = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 8, 8)),
    ("Conv2d", (3, 4, 3), dict(stride=2, padding=1, bias=False), (2, 3, 9, 8)),
    ("Conv2d", (3, 4, (3, 2)), dict(stride=(3, 2), padding=(1, 2)), (1, 3, 9, 7)),
    ("Conv2d", (4, 6, 3), dict(groups=2, dilation=2, padding=2), (2, 4, 9, 9)),
    ("Conv2d", (4, 4, 3), dict(groups=4, padding=1), (2, 4, 7, 7)),               # depthwise
    ("Conv2d", (3, 4, 4), dict(padding="same"), (2, 3, 7, 6)),                    # even kernel
    ("Conv2d", (3, 4, 3), dict(padding="valid"), (2, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1), (3, 8, 8)),                            # unbatched
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), stride=2, padding_mode="reflect"), (2, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=2, padding_mode="replicate"), (2, 3, 5, 6)),
    ("Conv2d", (3, 4, (2, 3)), dict(padding=(1, 3), padding_mode="circular"), (2, 3, 5, 6)),
    ("Conv2d", (3, 4, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding="same", padding_mode="circular", dilation=2), (2, 3, 7, 6)),
    ("Conv2d", (4, 6, 3), dict(padding=1, padding_mode="replicate", groups=2), (1, 4, 6, 6)),
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (3, 4, 4), dict(stride=3, padding=2, bias=False), (2, 3, 11)),
    ("Conv1d", (4, 4, 3), dict(groups=4, dilation=2), (1, 4, 9)),
    ("Conv1d", (3, 4, 2), dict(padding="same"), (2, 3, 8)),
    ("Conv1d", (3, 4, 3), dict(padding=2, padding_mode="reflect"), (2, 3, 6)),
    ("Conv1d", (3, 4, 3), dict(padding=1, padding_mode="replicate"), (2, 3, 6)),
    ("Conv1d", (3, 4, 3), dict(padding="same", padding_mode="circular"), (3, 6)),
    ("ConvTranspose2d", (4, 3, 3), {}, (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 4, 5)),
    ("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=(3, 2), groups=2, bias=False), (1, 4, 4, 5)),
    ("ConvTranspose2d", (4, 4, 3), dict(groups=4, dilation=2, padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2), (4, 5, 5)),                    # unbatched
    ("ConvTranspose1d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 6)),
    ("ConvTranspose1d", (4, 2, 2), dict(groups=2, dilation=3), (2, 4, 6)),
]


@pytest.mark.parametrize("layer,args,kw,shape", GRID, ids=[f"{g[0]}{g[1]}{g[2]}" for g in GRID])
def test_module_vs_torch(layer, args, kw, shape):
    check_module(lambda m: getattr(NN(m), layer)(*args, **kw), rand(*shape, seed=1),
                 what=f"{layer}{args}{kw}")


@pytest.mark.parametrize("output_size", [(9, 10), [1, 3, 10, 9], (10, 10)])
def test_conv_transpose_output_size(output_size):
    check_module(lambda m: NN(m).ConvTranspose2d(4, 3, 3, stride=2, padding=1),
                 rand(1, 4, 5, 5), call=lambda mod, x: mod(x, output_size=output_size))


def test_conv_transpose_output_size_out_of_range():
    layer = lw_conv.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=r"requested an output size of \[12, 9\], but valid sizes "
                                         r"range from \[9, 9\] to \[10, 10\]"):
        layer(lw.tensor(rand(1, 4, 5, 5)), output_size=(12, 9))


# ------------------------------------------------------------------------ untied biases
def torch_untied(cls, out_spatial, *args, **kw):
    """torch's conv without a bias, plus a learnable (out, *out_spatial) bias added to its output."""
    class Untied(cls):
        def forward(self, x):
            return self._conv_forward(x, self.weight, None) + self.bias

    mod = Untied(*args, bias=False, **kw)
    mod.bias = torch.nn.Parameter(torch.empty(mod.out_channels, *out_spatial).uniform_(-1, 1))
    return mod


UNTIED = [
    ("Conv2d", torch.nn.Conv2d, (3, 4, 3), dict(padding=1), (2, 3, 7, 6), (7, 6)),
    ("Conv2d", torch.nn.Conv2d, (4, 6, (3, 2)), dict(stride=2, groups=2), (2, 4, 9, 8), (4, 4)),
    ("Conv2d", torch.nn.Conv2d, (3, 4, 4), dict(padding="same", padding_mode="reflect"), (1, 3, 6, 7), (6, 7)),
    ("Conv1d", torch.nn.Conv1d, (3, 4, 3), dict(stride=2, padding=1), (2, 3, 9), (5,)),
]


@pytest.mark.parametrize("layer,tcls,args,kw,shape,out", UNTIED, ids=[f"{u[0]}{u[2]}{u[3]}" for u in UNTIED])
def test_untied_bias_vs_torch(layer, tcls, args, kw, shape, out):
    def make(m):
        if m is torch:
            return torch_untied(tcls, out, *args, **kw)
        return getattr(lw_conv, layer)(*args, bias="untied", input_size=shape[2:], **kw)
    check_module(make, rand(*shape, seed=2), what=f"untied {layer}{args}{kw}")


def test_untied_bias_is_one_bias_per_position():
    layer = lw_conv.Conv2d(2, 3, 3, padding=1, bias="untied", input_size=(4, 5))
    assert tuple(layer.bias.shape) == (3, 4, 5)
    layer.weight.array[...] = 0
    y = layer(lw.tensor(rand(2, 2, 4, 5).astype(np.float32)))
    np.testing.assert_array_equal(y.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy(), (2, 3, 4, 5)))
    # the gradient of the bias at each position is the sum over the batch there
    g = rand(2, 3, 4, 5).astype(np.float32)
    (y * lw.tensor(g)).sum().backward()
    np.testing.assert_allclose(layer.bias.grad.numpy(), g.sum(axis=0), rtol=1e-6)


def test_untied_gradcheck():
    layer = lw_conv.Conv2d(2, 3, (2, 3), stride=2, bias="untied", input_size=(5, 7), dtype=lw.float64)
    gradcheck(lambda m, x: layer(x), rand(2, 2, 5, 7), params=layer.parameters())


def test_untied_errors():
    with pytest.raises(ValueError, match=r"Conv2d: bias='untied' needs input_size"):
        lw_conv.Conv2d(3, 4, 3, bias="untied")
    with pytest.raises(ValueError, match=r"input_size is only used with bias='untied'"):
        lw_conv.Conv2d(3, 4, 3, input_size=(8, 8))
    with pytest.raises(ValueError, match=r"bias must be True, False or 'untied'"):
        lw_conv.Conv2d(3, 4, 3, bias="shared")
    with pytest.raises(ValueError, match=r"input_size \(2, 2\) is smaller than the kernel"):
        lw_conv.Conv2d(3, 4, 3, bias="untied", input_size=(2, 2))
    layer = lw_conv.Conv2d(3, 4, 3, padding=1, bias="untied", input_size=(8, 8))
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3, 4, kernel_size=\(3, 3\), stride=\(1, 1\), "
                                           r"padding=\(1, 1\), bias=untied, input_size=\(8, 8\)\): "
                                           r"expected input of spatial size \(8, 8\) \(the untied bias "
                                           r"has shape \(4, 8, 8\)\), got \(10, 8\)"):
        layer(lw.tensor(rand(2, 3, 10, 8).astype(np.float32)))
    layer1 = lw_conv.Conv1d(3, 4, 3, bias="untied", input_size=9)
    with pytest.raises(RuntimeError, match=r"expected input of spatial size \(9,\).*got \(8,\)"):
        layer1(lw.tensor(rand(2, 3, 8).astype(np.float32)))


# ------------------------------------------------------------------------ init, repr, counts
@pytest.mark.parametrize("make,fan_in", [
    (lambda: lw_conv.Conv2d(16, 8, 3), 16 * 9),
    (lambda: lw_conv.Conv2d(16, 8, (3, 5), groups=4), 4 * 15),
    (lambda: lw_conv.Conv1d(12, 9, 5, groups=3), 4 * 5),
    (lambda: lw_conv.ConvTranspose2d(16, 8, 3, groups=2), 4 * 9),                 # out/groups·k·k
    (lambda: lw_conv.ConvTranspose1d(4, 24, 3), 24 * 3),
    (lambda: lw_conv.Conv2d(16, 8, 3, bias="untied", input_size=(10, 10)), 16 * 9),
])
def test_default_init_bounds(make, fan_in):
    lw.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound
        if a.size >= 100:                          # enough samples to fill U(−bound, bound)
            assert np.abs(a).max() > 0.9 * bound
            assert abs(a.std() - bound / math.sqrt(3)) < 0.15 * bound


def test_dtype_and_float32_default():
    assert lw_conv.Conv2d(3, 4, 3).weight.dtype == lw.float32
    layer = lw_conv.Conv2d(3, 4, 3, dtype=lw.float64)
    assert layer.weight.dtype == layer.bias.dtype == lw.float64


REPRS = [
    ("Conv2d", (3, 16, 3), {}),
    ("Conv2d", (3, 16, (3, 5)), dict(stride=2, padding=(1, 2), dilation=2, groups=1, bias=False)),
    ("Conv2d", (4, 8, 3), dict(padding="same", padding_mode="reflect", groups=4)),
    ("Conv2d", (4, 8, 3), dict(padding="valid", padding_mode="circular")),
    ("Conv1d", (3, 16, 5), dict(stride=2, padding=2, padding_mode="replicate")),
    ("ConvTranspose2d", (16, 8, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("ConvTranspose1d", (16, 8, 4), dict(dilation=2, bias=False)),
]


@pytest.mark.parametrize("layer,args,kw", REPRS, ids=str)
def test_repr_matches_torch(layer, args, kw):
    assert repr(getattr(lw_conv, layer)(*args, **kw)) == repr(getattr(torch.nn, layer)(*args, **kw))


def test_untied_repr():
    assert repr(lw_conv.Conv2d(1, 8, 5, bias="untied", input_size=(28, 28))) == \
        "Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1), bias=untied, input_size=(28, 28))"


def _count(layer):
    return sum(p.numel() for p in layer.parameters())


def test_parameter_counts():
    assert _count(lw_conv.Conv2d(1, 8, 5)) == 8 * 1 * 5 * 5 + 8 == 208
    assert _count(lw_conv.Conv2d(1, 8, 5, bias=False)) == 200
    assert _count(lw_conv.Conv2d(1, 8, 5, bias="untied", input_size=(28, 28))) == 200 + 8 * 24 * 24
    assert _count(lw_conv.Conv2d(8, 16, 3, groups=4)) == 16 * 2 * 9 + 16
    assert _count(lw_conv.ConvTranspose2d(8, 16, 3, groups=4)) == 8 * 4 * 9 + 16
    model = lw.nn.Sequential(lw_conv.Conv2d(1, 8, 5, bias="untied", input_size=(28, 28)))
    assert lw.tools.summary(model, (1, 1, 28, 28), verbose=0).total_params == 200 + 8 * 24 * 24


# ------------------------------------------------------------------------ errors
def test_wrong_input_shape_names_layer_and_shapes():
    layer = lw_conv.Conv2d(3, 16, kernel_size=(3, 3))
    msg = r"^Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\): expected input of shape \(N, 3, H, W\), got "
    with pytest.raises(RuntimeError, match=msg + r"\(32, 32, 3\)$"):
        layer(lw.tensor(rand(32, 32, 3).astype(np.float32)))
    with pytest.raises(RuntimeError, match=msg + r"\(2, 3, 8\)$"):
        layer(lw.tensor(rand(2, 3, 8).astype(np.float32)))
    with pytest.raises(RuntimeError, match=msg + r"\(1, 2, 3, 8, 8\)$"):
        layer(lw.tensor(rand(1, 2, 3, 8, 8).astype(np.float32)))
    with pytest.raises(RuntimeError, match=r"^Conv1d\(3, 4, .*expected input of shape \(N, 3, L\), got \(2, 4, 9\)$"):
        lw_conv.Conv1d(3, 4, 3)(lw.tensor(rand(2, 4, 9).astype(np.float32)))
    with pytest.raises(RuntimeError, match=r"^ConvTranspose2d\(4, 2, .*expected input of shape \(N, 4, H, W\), got \(1, 2, 5, 5\)"):
        lw_conv.ConvTranspose2d(4, 2, 3)(lw.tensor(rand(1, 2, 5, 5).astype(np.float32)))
    with pytest.raises(TypeError, match=r"input dtype float64 does not match the weight dtype float32"):
        layer(lw.tensor(rand(2, 3, 8, 8)))
    with pytest.raises(TypeError, match=r"expected a Tensor input, got ndarray"):
        layer(rand(2, 3, 8, 8))


def test_kernel_larger_than_padded_input():
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3, 4, kernel_size=\(5, 5\).*: kernel size \(5, 5\) "
                                           r"\(dilated: \(5, 5\)\) is larger than the padded input \(5, 4\)"):
        lw_conv.Conv2d(3, 4, 5, padding=1)(lw.tensor(rand(1, 3, 3, 2).astype(np.float32)))
    with pytest.raises(RuntimeError, match=r"kernel size \(3,\) \(dilated: \(7,\)\) is larger"):
        lw_conv.Conv1d(3, 4, 3, dilation=3)(lw.tensor(rand(1, 3, 6).astype(np.float32)))


def test_output_size_not_positive():
    with pytest.raises(RuntimeError, match=r"^ConvTranspose2d\(4, 2, .*: the output size \(0, 0\) is too small"):
        lw_conv.ConvTranspose2d(4, 2, 1, padding=1)(lw.tensor(rand(1, 4, 2, 2).astype(np.float32)))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"):
        lw_conv.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: out_channels \(5\) must be divisible by groups \(2\)"):
        lw_conv.Conv2d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: in_channels \(3\) must be divisible by groups"):
        lw_conv.ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"groups must be a positive integer, got 0"):
        lw_conv.Conv2d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match=r"padding='same' is not supported for strided convolutions"):
        lw_conv.Conv2d(3, 4, 3, padding="same", stride=(1, 2))
    with pytest.raises(ValueError, match=r"invalid padding string 'full'"):
        lw_conv.Conv1d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*got padding_mode='mirror'"):
        lw_conv.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r'ConvTranspose2d: only "zeros" padding mode is supported'):
        lw_conv.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"padding must be non-negative"):
        lw_conv.Conv2d(3, 4, 3, padding=-1)
    with pytest.raises(ValueError, match=r"kernel_size must be positive"):
        lw_conv.Conv2d(3, 4, (3, 0))
    with pytest.raises(TypeError, match=r"kernel_size must be an int or a tuple of 2 ints, got \(3, 3, 3\)"):
        lw_conv.Conv2d(3, 4, (3, 3, 3))


def test_padding_mode_needs_a_large_enough_input():
    with pytest.raises(RuntimeError, match=r"padding_mode='reflect' needs every pad smaller than the input"):
        lw_conv.Conv2d(3, 4, 3, padding=3, padding_mode="reflect")(lw.tensor(rand(1, 3, 3, 8).astype(np.float32)))
    with pytest.raises(RuntimeError, match=r"padding_mode='circular' needs every pad at most the input"):
        lw_conv.Conv1d(3, 4, 1, padding=4, padding_mode="circular")(lw.tensor(rand(1, 3, 3).astype(np.float32)))
