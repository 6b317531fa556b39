"""Image transforms (torchvision.transforms' API) for NumPy arrays and layerwise Tensors.

Images are channel-first, ``(..., C, H, W)`` or ``(..., H, W)`` (as torchvision's tensor
transforms), except the input of ``ToTensor``, which is an ``(H, W)`` or ``(H, W, C)``
array (what torchvision gets from a PIL image).  Each transform returns the same kind
of object it was given (array in → array out, Tensor in → Tensor out), except
``ToTensor``, which always returns a Tensor.

Random transforms take ``generator=`` (a ``lw.Generator``; default: the global generator
behind ``lw.manual_seed``), an addition to torchvision's signatures, so augmentation is
reproducible and can be checkpointed with ``generator.get_state()``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..random import get_generator
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Lambda"]


def _unwrap(img, who):
    if isinstance(img, Tensor):
        return img.array, True
    if isinstance(img, np.ndarray):
        return img, False
    raise TypeError(f"{who}: expected a NumPy array or a layerwise Tensor, got {type(img).__name__}")


def _rewrap(arr, was_tensor):
    return Tensor._wrap(arr) if was_tensor else arr


class Compose:
    """Apply transforms one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """An ``(H, W)`` or ``(H, W, C)`` image array → a ``(C, H, W)`` Tensor.

    As torchvision: ``uint8`` pixels are scaled to float32 in [0, 1] (divided by 255);
    arrays of any other dtype keep their dtype and values, only moved to channel-first.
    Objects that NumPy can read as an array (a PIL image) are accepted too.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: pic should be an image array (H, W) or (H, W, C), got a "
                            "Tensor (it is already converted)")
        if not isinstance(pic, np.ndarray):
            if not hasattr(pic, "__array_interface__") and not hasattr(pic, "__array__"):
                raise TypeError(f"ToTensor: pic should be an image array or PIL Image, got "
                                f"{type(pic).__name__}")
            pic = np.asarray(pic)
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (H, W) or (H, W, C), "
                             f"got {pic.ndim} dimensions, shape {pic.shape}")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        return Tensor._wrap(chw)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a ``(..., C, H, W)`` float image."""

    def __init__(self, mean, std, inplace: bool = False):
        self.mean = tuple(mean) if not isinstance(mean, numbers.Number) else (mean,)
        self.std = tuple(std) if not isinstance(std, numbers.Number) else (std,)
        self.inplace = inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to the input "
                             f"dtype, leading to division by zero ({self.std})")

    def __call__(self, img):
        arr, was_tensor = _unwrap(img, "Normalize")
        if arr.dtype.kind != "f":
            raise TypeError(f"Normalize: input should be a float image, got {arr.dtype} "
                            f"(use ToTensor() first)")
        if arr.ndim < 3:
            raise ValueError(f"Normalize: expected an image of shape (..., C, H, W), got shape "
                             f"{arr.shape}")
        c = arr.shape[-3]
        mean = np.asarray(self.mean, dtype=arr.dtype)
        std = np.asarray(self.std, dtype=arr.dtype)
        for name, v in (("mean", mean), ("std", std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.size} values but the image has {c} "
                                 f"channels (shape {arr.shape})")
        mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        if self.inplace:
            np.subtract(arr, mean, out=arr)
            np.divide(arr, std, out=arr)
            return img
        return _rewrap((arr - mean) / std, was_tensor)

    def __repr__(self):
        return f"Normalize(mean={list(self.mean)}, std={list(self.std)})"


def _pair(size, what):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{what}: please provide only two dimensions (h, w) for size, got {size}")
    return int(size[0]), int(size[1])


class RandomCrop:
    """A random ``size`` crop of ``(..., H, W)`` images, optionally after padding them.

    ``padding``: an int (all four sides), ``(left/right, top/bottom)`` or ``(left, top,
    right, bottom)``; ``padding_mode`` is 'constant' (with ``fill``), 'edge', 'reflect' or
    'symmetric'; ``pad_if_needed`` pads images smaller than ``size``.  The offsets
    ``i`` (top) and ``j`` (left) are drawn uniformly from ``[0, H - h]`` and ``[0, W - w]``
    of the padded image, top first.
    """

    _MODES = ("constant", "edge", "reflect", "symmetric")

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant", generator=None):
        self.size = _pair(size, "RandomCrop")
        if padding is not None:
            p = (padding,) if isinstance(padding, numbers.Integral) else tuple(padding)
            if len(p) not in (1, 2, 4) or any(not isinstance(v, numbers.Integral) or v < 0 for v in p):
                raise ValueError(f"RandomCrop: padding must be a non-negative int or a sequence of "
                                 f"2 or 4 of them, got {padding}")
        if padding_mode not in self._MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of {self._MODES}, got "
                             f"{padding_mode!r}")
        if not isinstance(fill, numbers.Number):
            raise TypeError(f"RandomCrop: fill must be a number, got {fill!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def _pad(self, arr, left, top, right, bottom):
        if not (left or top or right or bottom):
            return arr
        width = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return np.pad(arr, width, mode="constant", constant_values=self.fill)
        return np.pad(arr, width, mode=self.padding_mode)

    @staticmethod
    def get_params(img, output_size, generator=None) -> tuple[int, int, int, int]:
        """Draw ``(i, j, h, w)``: a random ``output_size`` window of the ``(..., H, W)`` image."""
        height, width = img.shape[-2:]
        th, tw = output_size
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"input image size {(height, width)}")
        if height == th and width == tw:
            return 0, 0, th, tw
        rng = get_generator(generator)
        i = int(rng.integers(0, height - th + 1))
        j = int(rng.integers(0, width - tw + 1))
        return i, j, th, tw

    def __call__(self, img):
        arr, was_tensor = _unwrap(img, "RandomCrop")
        if arr.ndim < 2:
            raise ValueError(f"RandomCrop: expected an image (..., H, W), got shape {arr.shape}")
        if self.padding is not None:
            p = (self.padding,) if isinstance(self.padding, numbers.Integral) else tuple(self.padding)
            if len(p) == 1:
                left = top = right = bottom = p[0]
            elif len(p) == 2:
                left = right = p[0]
                top = bottom = p[1]
            else:
                left, top, right, bottom = p
            arr = self._pad(arr, left, top, right, bottom)
        th, tw = self.size
        if self.pad_if_needed:
            h, w = arr.shape[-2:]
            dw, dh = max(tw - w, 0), max(th - h, 0)
            arr = self._pad(arr, dw, dh, dw, dh)
        i, j, h, w = self.get_params(arr, self.size, self.generator)
        return _rewrap(np.ascontiguousarray(arr[..., i:i + h, j:j + w]), was_tensor)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror ``(..., H, W)`` images left↔right with probability ``p`` (one draw per call)."""

    def __init__(self, p: float = 0.5, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img):
        arr, was_tensor = _unwrap(img, "RandomHorizontalFlip")
        if get_generator(self.generator).random() < self.p:
            return _rewrap(np.ascontiguousarray(arr[..., ::-1]), was_tensor)
        return img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"
