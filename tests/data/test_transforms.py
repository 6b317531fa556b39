"""Transforms against hand-computed results (random ones through their generator and at p = 0 / 1)."""
import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise.data.transforms import (Compose, Lambda, Normalize, RandomCrop,
                                       RandomHorizontalFlip, ToTensor)


def grid(h, w, c=None, dtype=np.uint8):
    a = np.arange(h * w * (c or 1)).reshape((h, w) if c is None else (h, w, c))
    return a.astype(dtype)


# ---------------------------------------------------------------------- ToTensor
def test_to_tensor_hw_and_hwc_uint8():
    hw = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    t = ToTensor()(hw)
    assert isinstance(t, lw.Tensor) and t.dtype == lw.float32 and t.shape == (1, 2, 2)
    np.testing.assert_array_equal(t.numpy(), np.array([[[0.0, 0.2], [0.4, 1.0]]], np.float32))
    hwc = grid(2, 3, 3)                                  # pixel (y, x) channel k = 9y + 3x + k
    chw = ToTensor()(hwc).numpy()
    assert chw.shape == (3, 2, 3) and chw.flags.c_contiguous
    assert chw[2, 1, 0] == np.float32(9 * 1 + 3 * 0 + 2) / np.float32(255)
    # the same numbers torchvision's ToTensor computes: permute, float, divide by 255
    ref = torch.from_numpy(hwc).permute(2, 0, 1).float().div(255).numpy()
    np.testing.assert_array_equal(chw, ref)


def test_to_tensor_keeps_non_uint8_values_and_rejects_bad_input():
    f = np.array([[0.5, 2.0]], dtype=np.float64)
    t = ToTensor()(f)
    assert t.dtype == lw.float64 and t.numpy().tolist() == [[[0.5, 2.0]]]
    with pytest.raises(ValueError, match="2 or 3 dimensional"):
        ToTensor()(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(TypeError, match="already converted"):
        ToTensor()(lw.zeros(1, 2, 2))


# ---------------------------------------------------------------------- Normalize
def test_normalize_per_channel_by_hand():
    x = np.array([[[1.0, 2.0]], [[3.0, 5.0]]], np.float32)       # (C=2, H=1, W=2)
    out = Normalize((1.0, 2.0), (0.5, 4.0))(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[0.0, 2.0]], [[0.25, 0.75]]])
    t = Normalize((1.0, 2.0), (0.5, 4.0))(lw.from_numpy(x))
    assert isinstance(t, lw.Tensor) and t.numpy().tolist() == out.tolist()
    batch = np.stack([x, 2 * x])                                   # (N, C, H, W) works too
    np.testing.assert_array_equal(Normalize((1.0, 2.0), (0.5, 4.0))(batch)[1],
                                  [[[2.0, 6.0]], [[1.0, 2.0]]])
    y = x.copy()
    assert Normalize((1.0, 2.0), (0.5, 4.0), inplace=True)(y) is y and y.tolist() == out.tolist()
    assert x[0, 0, 1] == 2.0                                       # the default does not touch its input


def test_normalize_matches_torchvision_math_and_errors():
    img = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    ours = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])(img).numpy()
    ref = torch.from_numpy(img).float().div(255)[None].sub(torch.tensor([0.1307])[:, None, None]) \
        .div(torch.tensor([0.3081])[:, None, None]).numpy()
    np.testing.assert_array_equal(ours, ref)
    with pytest.raises(ValueError, match="mean has 2 values but the image has 3 channels"):
        Normalize((0.1, 0.2), (1.0, 1.0, 1.0))(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="division by zero"):
        Normalize((0.0,), (0.0,))
    with pytest.raises(TypeError, match="float image"):
        Normalize((0.0,), (1.0,))(np.zeros((1, 2, 2), np.uint8))


# ---------------------------------------------------------------------- RandomCrop
def test_random_crop_with_padding_follows_its_generator():
    img = grid(4, 5).astype(np.float32)[None] + 1                 # (1, 4, 5), no zeros inside
    crop = RandomCrop((4, 5), padding=2, generator=lw.Generator().manual_seed(3))
    # the same draws, by hand: top offset then left offset, uniform over the padded image
    rng = lw.Generator().manual_seed(3).np
    padded = np.zeros((1, 8, 9), np.float32)
    padded[:, 2:6, 2:7] = img
    offsets = set()
    for _ in range(40):
        out = crop(img)
        i, j = int(rng.integers(0, 8 - 4 + 1)), int(rng.integers(0, 9 - 5 + 1))
        offsets.add((i, j))
        assert out.shape == (1, 4, 5) and out.flags.c_contiguous
        np.testing.assert_array_equal(out, padded[:, i:i + 4, j:j + 5])
    assert len(offsets) > 10
    again = RandomCrop((4, 5), padding=2, generator=lw.Generator().manual_seed(3))
    t = again(lw.from_numpy(img))
    assert isinstance(t, lw.Tensor)
    first = RandomCrop((4, 5), padding=2, generator=lw.Generator().manual_seed(3))(img)
    np.testing.assert_array_equal(t.numpy(), first)


def test_random_crop_reaches_every_offset_uniformly():
    img = grid(3, 3).astype(np.float32)[None]
    crop = RandomCrop(2, generator=lw.Generator().manual_seed(0))
    counts = {}
    for _ in range(800):
        out = crop(img)
        key = (int(out[0, 0, 0]) // 3, int(out[0, 0, 0]) % 3)     # top-left pixel → (i, j)
        np.testing.assert_array_equal(out, img[:, key[0]:key[0] + 2, key[1]:key[1] + 2])
        counts[key] = counts.get(key, 0) + 1
    assert sorted(counts) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(150 < c < 250 for c in counts.values())            # 200 expected each


def test_random_crop_padding_forms_and_modes_by_hand():
    img = np.array([[[1, 2, 3], [4, 5, 6]]], np.float32)          # (1, 2, 3)
    # full-size crop of a (left, top, right, bottom) padding: only one offset is possible
    out = RandomCrop((3, 5), padding=(1, 0, 1, 1), fill=9)(img)
    np.testing.assert_array_equal(out[0], [[9, 1, 2, 3, 9], [9, 4, 5, 6, 9], [9, 9, 9, 9, 9]])
    out = RandomCrop((2, 5), padding=(1, 0), padding_mode="edge")(img)
    np.testing.assert_array_equal(out[0], [[1, 1, 2, 3, 3], [4, 4, 5, 6, 6]])
    out = RandomCrop((2, 5), padding=(1, 0), padding_mode="reflect")(img)
    np.testing.assert_array_equal(out[0], [[2, 1, 2, 3, 2], [5, 4, 5, 6, 5]])
    out = RandomCrop((2, 5), padding=(1, 0), padding_mode="symmetric")(img)
    np.testing.assert_array_equal(out[0], [[1, 1, 2, 3, 3], [4, 4, 5, 6, 6]])
    # pad_if_needed pads the missing 2 rows on top *and* bottom (torchvision's rule), then crops
    padded = np.array([[0, 0, 0], [0, 0, 0], [1, 2, 3], [4, 5, 6], [0, 0, 0], [0, 0, 0]])
    crop = RandomCrop((4, 3), pad_if_needed=True, generator=lw.Generator().manual_seed(5))
    rng = lw.Generator().manual_seed(5).np
    for _ in range(6):
        i = int(rng.integers(0, 3))
        np.testing.assert_array_equal(crop(img)[0], padded[i:i + 4])
    i, j, h, w = RandomCrop.get_params(np.zeros((1, 5, 7)), (3, 4), lw.Generator().manual_seed(0))
    assert 0 <= i <= 2 and 0 <= j <= 3 and (h, w) == (3, 4)
    with pytest.raises(ValueError, match=r"required crop size \(3, 3\) is larger than the input"):
        RandomCrop(3)(img)
    with pytest.raises(ValueError, match="padding_mode should be one of"):
        RandomCrop(2, padding=1, padding_mode="wrap")


# ---------------------------------------------------------------------- flips, Compose, Lambda
def test_horizontal_flip_at_p0_p1_and_by_generator():
    img = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    for _ in range(5):
        np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(img)[0], [[3, 2, 1], [6, 5, 4]])
        assert RandomHorizontalFlip(p=0.0)(img) is img
    t = RandomHorizontalFlip(p=1.0)(lw.from_numpy(img))
    assert isinstance(t, lw.Tensor) and t.tolist() == [[[3, 2, 1], [6, 5, 4]]]
    flip = RandomHorizontalFlip(p=0.5, generator=lw.Generator().manual_seed(1))
    draws = lw.Generator().manual_seed(1).np.random(400) < 0.5
    flipped = [RandomHorizontalFlip.__call__(flip, img)[0, 0, 0] == 3 for _ in range(400)]
    assert flipped == draws.tolist() and 160 < sum(flipped) < 240
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        RandomHorizontalFlip(p=1.5)


def test_compose_and_lambda():
    img = np.array([[10, 20]], np.uint8)
    pipe = Compose([ToTensor(), Lambda(lambda t: t * 2), RandomHorizontalFlip(p=1.0)])
    out = pipe(img)
    np.testing.assert_allclose(out.numpy(), [[[40 / 255, 20 / 255]]], rtol=1e-6)
    assert "ToTensor()" in repr(pipe) and "RandomHorizontalFlip(p=1.0)" in repr(pipe)
    with pytest.raises(TypeError, match="lambd should be callable"):
        Lambda(3)
