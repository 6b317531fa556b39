"""Small channel-wise layers composed of differentiable primitives: LPPool1d/2d,
LocalResponseNorm, Softmax2d, ChannelShuffle (torch's arguments, repr and errors).

    lp_pool              (Σ_window x^p)^(1/p) = (k · avg_pool(x^p))^(1/p)     (k = window size)
    local_response_norm  x / (k + α · mean_{n channels around c} x²)^β
    softmax2d            softmax over the channel dimension (dim −3)
    channel_shuffle      (N, g·m, *) → (N, m·g, *): channel i·m + j goes to j·g + i
"""
from __future__ import annotations

from . import functional as F
from .module import Module
from .padding import pad

__all__ = ["LPPool1d", "LPPool2d", "LocalResponseNorm", "Softmax2d", "ChannelShuffle"]
__functional__ = ["lp_pool1d", "lp_pool2d", "local_response_norm", "channel_shuffle"]


def _lp_finish(avg, norm_type, window):
    # as torch: sign(avg)·relu(|avg|) keeps the gradient at 0 where avg is exactly 0
    return (avg.sign() * avg.abs().relu() * window) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L): (Σ_window x^p)^(1/p)."""
    avg = F.avg_pool1d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return _lp_finish(avg, norm_type, k)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W): (Σ_window x^p)^(1/p)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    avg = F.avg_pool2d(input ** norm_type, (kh, kw), stride, 0, ceil_mode)
    return _lp_finish(avg, norm_type, kh * kw)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + α·mean of x² over ``size`` neighbouring channels)^β (channels on dim 1; the
    window is zero-padded: size//2 channels before, (size − 1)//2 after)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    sq = (input * input).reshape(n, 1, c, -1)                       # (N, 1, C, rest)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = F.avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


def channel_shuffle(input, groups):
    """Interleave the channels of ``groups`` groups: (N, g·m, *) → channel j·g + i holds i·m + j."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and "
                           f"{groups} groups.")
    y = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return y.reshape(n, c, *rest)


class _LPPool(Module):
    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    def forward(self, input):
        return lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPool):
    def forward(self, input):
        return lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LocalResponseNorm(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Softmax2d(Module):
    """softmax over the channels of (N, C, H, W) or (C, H, W)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class ChannelShuffle(Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
