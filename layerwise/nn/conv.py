"""Convolution layers and their functional forms, as torch.nn / torch.nn.functional.

conv1d, conv2d, conv_transpose1d, conv_transpose2d and the modules Conv1d, Conv2d,
ConvTranspose1d, ConvTranspose2d.  Inputs are batched (N, C, H, W) / (N, C, L) or unbatched
(C, H, W) / (C, L).  Output sizes:

    conv            out = ⌊(in + pad_lo + pad_hi − d·(k − 1) − 1) / s⌋ + 1
    conv_transpose  out = (in − 1)·s − 2·padding + d·(k − 1) + output_padding + 1

Conv1d/Conv2d also take ``bias='untied'`` with ``input_size``: one bias per output position,
shape (out_channels, *out_spatial), for inputs of exactly that spatial size.  The math and the
backward passes are in ``layerwise/ops/conv.py``; this file checks arguments and shapes and names
the layer in every error.
"""
from __future__ import annotations

import math

from .. import _tensor_ops as T
from .. import dtypes as _dt
from ..backend import xp
from ..device import as_device
from ..ops.conv import Conv, ConvTranspose, Pad
from ..ops.shape import ConstantPad
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


# ---------------------------------------------------------------------------------- arguments
def _ints(value, n, what, who):
    """An int or a length-n sequence of ints as an n-tuple."""
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(vals) != n or any(isinstance(v, bool) or not isinstance(v, int) for v in vals):
        raise TypeError(f"{who}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return vals


def _positive(vals, what, who):
    if any(v <= 0 for v in vals):
        raise ValueError(f"{who}: {what} must be positive, got {vals}")
    return vals


def _padding_arg(padding, n, stride, who, exc=ValueError):
    """``padding`` as torch stores it: 'same' / 'valid' or an n-tuple of ints.  torch raises
    ValueError from a layer's constructor and RuntimeError from the functional form (``exc``)."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise exc(f"{who}: invalid padding string {padding!r}, should be one of "
                      "'valid', 'same'")
        if padding == "same" and any(s != 1 for s in stride):
            raise exc(f"{who}: padding='same' is not supported for strided convolutions "
                      f"(stride={stride})")
        return padding
    p = _ints(padding, n, "padding", who)
    if any(v < 0 for v in p):
        raise exc(f"{who}: padding must be non-negative, got {p}")
    return p


def _padding_pairs(padding, kernel, dilation):
    """(lo, hi) per spatial dim.  'same' pads d·(k − 1) in all, the odd one on the right/bottom."""
    if padding == "valid":
        return tuple((0, 0) for _ in kernel)
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(kernel, dilation))
    return tuple((p, p) for p in padding)


def _shape_text(nd, channels):
    return f"(N, {channels}, {_SPATIAL[nd]})"


def _check_weight(who, nd, input, weight, layout):
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}: expected a Tensor input, got {type(input).__name__}")
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{who}: expected a weight of shape ({layout}, {_KERNEL[nd]}), got {got}")


def _check_input(who, nd, input, channels, weight, bias):
    """Rank, channel count and dtypes."""
    if input.ndim not in (nd + 1, nd + 2) or input.shape[-(nd + 1)] != channels:
        raise RuntimeError(f"{who}: expected input of shape {_shape_text(nd, channels)}, got "
                           f"{tuple(input.shape)}")
    if not input.is_floating_point():
        raise TypeError(f"{who}: expected a floating point input, got {input.dtype}; convert it "
                        "with .float()")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{who}: input dtype {input.dtype.name} does not match the {name} "
                            f"dtype {t.dtype.name}; convert the input or call "
                            f".to({input.dtype.name}) on the layer")


def _groups(groups, who):
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{who}: groups must be a positive integer, got {groups!r}")
    return groups


# ---------------------------------------------------------------------------------- functional
def _conv(input, weight, bias, stride, padding, dilation, groups, *, nd, who,
          padding_mode="zeros", untied_size=None):
    """conv1d/conv2d and the layers' forward: validate, pad (non-zero modes), run the op.

    ``untied_size``: the input size an untied bias (out, *out_spatial) was made for."""
    groups = _groups(groups, who)
    _check_weight(who, nd, input, weight, "out_channels, in_channels/groups")
    if weight.shape[0] % groups:
        raise RuntimeError(f"{who}: weight of shape {tuple(weight.shape)} has "
                           f"{weight.shape[0]} out channels, not divisible by groups={groups}")
    _check_input(who, nd, input, weight.shape[1] * groups, weight, bias)
    kernel = tuple(weight.shape[2:])
    stride = _positive(_ints(stride, nd, "stride", who), "stride", who)
    dilation = _positive(_ints(dilation, nd, "dilation", who), "dilation", who)
    pairs = _padding_pairs(_padding_arg(padding, nd, stride, who, RuntimeError), kernel,
                           dilation)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{who}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")

    batched = input.ndim == nd + 2
    x = input if batched else input.unsqueeze(0)
    size = tuple(x.shape[2:])
    if untied_size is not None and size != untied_size:
        raise RuntimeError(f"{who}: expected input of spatial size {untied_size} (the untied "
                           f"bias has shape {tuple(bias.shape)}), got {size} from input of shape "
                           f"{tuple(input.shape)}")
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pairs))
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    out = tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride))
    if any(e > p for e, p in zip(eff, padded)):
        raise RuntimeError(f"{who}: kernel size {kernel} (dilated: {eff}) is larger than the "
                           f"padded input {padded} (input {size} + padding {pairs}); the output "
                           f"size would be {out}")
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pairs):
        for n, (lo, hi) in zip(size, pairs):
            limit = n - 1 if padding_mode == "reflect" else n
            if max(lo, hi) > limit:
                raise RuntimeError(
                    f"{who}: padding {pairs} with padding_mode={padding_mode!r} needs every pad "
                    f"{'smaller than' if padding_mode == 'reflect' else 'at most'} the input size "
                    f"{size}")
        x = Pad.apply(x, pads=pairs, mode=padding_mode)          # pad explicitly, as torch does
        pairs = tuple((0, 0) for _ in pairs)
    if bias is not None:
        want = (weight.shape[0],) + (out if untied_size is not None else ())
        if tuple(bias.shape) != want:
            raise RuntimeError(f"{who}: expected a bias of shape {want}, got {tuple(bias.shape)}")
    if nd == 3:
        y = _conv3d_by_depth(x, weight, bias, stride, pairs, dilation, groups)
        return y if batched else y.squeeze(0)
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Conv.apply(*args, stride=stride, padding=pairs, dilation=dilation, groups=groups)
    return y if batched else y.squeeze(0)


def _conv3d_by_depth(x, weight, bias, stride, pairs, dilation, groups):
    """A 3-d convolution as one 2-d convolution over depth slabs stacked as channels:

        A[:, :, z] = Σ_i conv2d(Xp[:, :, z·s_d + i·d_d], K[:, :, i])         (i < kD)
                   = conv2d([Xp[:, :, z·s_d + i·d_d] for i < kD], [K[:, :, i] for i < kD])

    The kD input slabs (every output depth at once, folded into the batch) are stacked along
    the channels (group by group, so groups stay contiguous) and the kernel's depth offsets
    likewise, so the whole 3-d convolution is one fused 2-d op with kD times the input
    channels: its backward is the 2-d op's hand-written one, and the stacking's backward adds
    each slab's gradient back to the depths it was read from."""
    (dlo, dhi), hw_pairs = pairs[0], pairs[1:]
    if dlo or dhi:
        x = ConstantPad.apply(x, pads=((0, 0), (0, 0), (dlo, dhi), (0, 0), (0, 0)), value=0.0)
    n, c, depth, h, w = x.shape
    o, cg, kd = weight.shape[:3]
    sd, dd = stride[0], dilation[0]
    out_depth = (depth - dd * (kd - 1) - 1) // sd + 1
    slabs = [x[:, :, i * dd:i * dd + sd * (out_depth - 1) + 1:sd] for i in range(kd)]
    stacked = T.stack(slabs, dim=1)                              # (N, kD, C, Do, H, W)
    stacked = stacked.reshape(n, kd, groups, cg, out_depth, h, w).permute(0, 4, 2, 1, 3, 5, 6)
    stacked = stacked.reshape(n * out_depth, groups * kd * cg, h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(o, kd * cg, *weight.shape[3:])
    y = Conv.apply(stacked, w2, stride=stride[1:], padding=hw_pairs, dilation=dilation[1:],
                   groups=groups)
    ho, wo = y.shape[2:]
    out = y.reshape(n, out_depth, o, ho, wo).transpose(1, 2).contiguous()
    if bias is not None:
        out = out + (bias.reshape(o, 1, 1, 1) if bias.ndim == 1 else bias)
    return out


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, *,
                    nd, who):
    groups = _groups(groups, who)
    _check_weight(who, nd, input, weight, "in_channels, out_channels/groups")
    if weight.shape[0] % groups:
        raise RuntimeError(f"{who}: weight of shape {tuple(weight.shape)} has "
                           f"{weight.shape[0]} in channels, not divisible by groups={groups}")
    _check_input(who, nd, input, weight.shape[0], weight, bias)
    kernel = tuple(weight.shape[2:])
    stride = _positive(_ints(stride, nd, "stride", who), "stride", who)
    dilation = _positive(_ints(dilation, nd, "dilation", who), "dilation", who)
    padding = _ints(padding, nd, "padding", who)
    output_padding = _ints(output_padding, nd, "output_padding", who)
    if any(v < 0 for v in padding + output_padding):
        raise RuntimeError(f"{who}: padding {padding} and output_padding {output_padding} must be "
                         "non-negative")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{who}: output_padding {output_padding} must be smaller than either "
                           f"stride {stride} or dilation {dilation}")
    batched = input.ndim == nd + 2
    x = input if batched else input.unsqueeze(0)
    size = tuple(x.shape[2:])
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                for n, s, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"{who}: the output size {out} is too small (input {size}, kernel "
                           f"{kernel}, stride {stride}, padding {padding}, dilation {dilation}, "
                           f"output_padding {output_padding})")
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"{who}: expected a bias of shape ({out_channels},), got "
                           f"{tuple(bias.shape)}")
    args = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose.apply(*args, stride=stride, padding=tuple((p, p) for p in padding),
                            dilation=dilation, groups=groups, out_spatial=out)
    return y if batched else y.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, kL); padding an int, a
    tuple, 'same' or 'valid'."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, nd=1, who="conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW); padding an
    int, a tuple, 'same' or 'valid'."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, nd=2, who="conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C_in, D, H, W) with weight (C_out, C_in/groups, kD, kH, kW),
    computed as 2-d convolutions over the kernel's depth offsets (``_conv3d_by_depth``)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, nd=3, who="conv3d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution over (N, C_in, L) with weight (C_in, C_out/groups, kL)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           nd=1, who="conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution over (N, C_in, H, W) with weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           nd=2, who="conv_transpose2d")


# ---------------------------------------------------------------------------------- layers
class _ConvNd(Module):
    """Shared construction of the convolution layers (torch's attributes, init and repr)."""

    _nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, groups, bias, padding_mode, device, dtype, input_size=None):
        super().__init__()
        nd, who = self._nd, type(self).__name__
        as_device(device)
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{who}: {name} must be a positive integer, got {v!r}")
        groups = _groups(groups, who)
        if in_channels % groups:
            raise ValueError(f"{who}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{who}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{who}: padding_mode must be one of {PADDING_MODES}, got "
                             f"padding_mode={padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'{who}: only "zeros" padding mode is supported, got {padding_mode!r}')
        if bias not in (True, False, "untied"):
            raise ValueError(f"{who}: bias must be True, False or 'untied', got {bias!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _positive(_ints(kernel_size, nd, "kernel_size", who), "kernel_size", who)
        self.stride = _positive(_ints(stride, nd, "stride", who), "stride", who)
        self.dilation = _positive(_ints(dilation, nd, "dilation", who), "dilation", who)
        if self.transposed:
            self.padding = _ints(padding, nd, "padding", who)
            if any(v < 0 for v in self.padding):
                raise ValueError(f"{who}: padding must be non-negative, got {self.padding}")
        else:
            self.padding = _padding_arg(padding, nd, self.stride, who)
        self.output_padding = _ints(output_padding, nd, "output_padding", who)
        self.groups, self.padding_mode = groups, padding_mode

        self.untied = bias == "untied"
        self.input_size = None
        if self.untied:
            if input_size is None:
                raise ValueError(f"{who}: bias='untied' needs input_size (the spatial size of the "
                                 f"inputs, ({_SPATIAL[nd]})): one bias per output "
                                 "position")
            self.input_size = _positive(_ints(input_size, nd, "input_size", who), "input_size", who)
            pairs = _padding_pairs(self.padding, self.kernel_size, self.dilation)
            out = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, (lo, hi), k, d, s in
                        zip(self.input_size, pairs, self.kernel_size, self.dilation, self.stride))
            if any(o <= 0 for o in out):
                raise ValueError(f"{who}: input_size {self.input_size} is smaller than the "
                                 f"kernel {self.kernel_size} (dilation {self.dilation}, padding "
                                 f"{self.padding}): the output size would be {out}")
            self._untied_out = out
        elif input_size is not None:
            raise ValueError(f"{who}: input_size is only used with bias='untied'")

        d = (_dt.as_dtype(dtype) if dtype else _dt.get_default_dtype()).np
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(xp.empty(shape, d))
        if bias is False:
            self.register_parameter("bias", None)
        else:
            bshape = (out_channels,) + (self._untied_out if self.untied else ())
            self.bias = Parameter(xp.empty(bshape, d))
        self.reset_parameters()

    def reset_parameters(self):
        """weight ~ kaiming_uniform(a=√5) = U(−1/√fan_in, 1/√fan_in); bias ~ U(−1/√fan_in, 1/√fan_in),
        fan_in = weight.shape[1]·prod(kernel) (in/groups·k for a conv, out/groups·k transposed)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in != 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        if self.untied:
            s += f", bias=untied, input_size={self.input_size}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None,
                 input_size=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         groups, bias, padding_mode, device, dtype, input_size)

    def _conv_forward(self, input, weight, bias):
        return _conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups,
                     nd=self._nd, who=self, padding_mode=self.padding_mode,
                     untied_size=self.input_size if self.untied else None)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution: (N, C_in, L) → (N, C_out, L_out); weight (C_out, C_in/groups, k).

    Parameters: C_out·C_in/groups·k + C_out (tied bias) or + C_out·L_out (``bias='untied'``, with
    ``input_size=(L,)``).
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution: (N, C_in, H, W) → (N, C_out, H_out, W_out); weight (C_out, C_in/groups, kH, kW).

    Parameters: C_out·C_in/groups·kH·kW + C_out (tied bias), or + C_out·H_out·W_out with
    ``bias='untied'`` and ``input_size=(H, W)``.  Conv2d(1, 8, 5) has 8·1·5·5 + 8 = 208.
    """

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution: (N, C_in, D, H, W) → (N, C_out, D_out, H_out, W_out); weight
    (C_out, C_in/groups, kD, kH, kW).  Computed as a sum of 2-d convolutions over the kernel's
    depth offsets, each one the fused 2-d op with its hand-written backward."""

    _nd = 3


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if bias == "untied":
            raise ValueError(f"{type(self).__name__}: bias must be True or False, got 'untied'")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding for a requested output_size (torch's rule: the size must lie between the
        smallest output and that plus stride − 1)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        output_size = tuple(output_size)
        non_spatial = 2 if input.ndim == nd + 2 else 1
        if len(output_size) == non_spatial + nd:
            output_size = output_size[non_spatial:]
        if len(output_size) != nd:
            raise ValueError(f"{self}: for {nd}D input, output_size must have {nd} or "
                             f"{non_spatial + nd} elements (got {len(output_size)})")
        size = tuple(input.shape[-nd:])
        lo = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
              zip(size, self.stride, self.padding, self.dilation, self.kernel_size)]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        for want, a, b in zip(output_size, lo, hi):
            if not a <= want <= b:
                raise ValueError(f"{self}: requested an output size of {list(output_size)}, but "
                                 f"valid sizes range from {lo} to {hi} (for an input of {size})")
        return tuple(w - a for w, a in zip(output_size, lo))

    def forward(self, input, output_size=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self}: expected a Tensor input, got {type(input).__name__}")
        output_padding = self._output_padding(input, output_size)
        return _conv_transpose(input, self.weight, self.bias, self.stride, self.padding,
                               output_padding, self.groups, self.dilation, nd=self._nd, who=self)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution: (N, C_in, L) → (N, C_out, L_out); weight (C_in, C_out/groups, k).

    L_out = (L − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.
    """

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution: (N, C_in, H, W) → (N, C_out, H_out, W_out); weight
    (C_in, C_out/groups, kH, kW).  H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) +
    output_padding + 1; ``forward(input, output_size)`` picks output_padding from a size."""

    _nd = 2
