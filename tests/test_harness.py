"""The parity harness must be able to fail: these tests prove it catches what it promises."""
import numpy as np
import pytest

from parity import assert_close, parity, rand


def test_relative_to_whole_tensor_catches_small_entry_errors():
    b = np.array([1000.0, 1e-3])
    assert_close(b + [1e-3, 0], b, 1e-5, "ok")          # tiny error against the tensor's scale
    with pytest.raises(AssertionError):
        assert_close(b + [0.1, 0], b, 1e-5, "bad")


def test_all_zero_gradient_is_still_checked():
    with pytest.raises(AssertionError):
        assert_close(np.array([1e-3, 0.0]), np.zeros(2), 1e-4, "zero")


def test_wrong_op_fails_parity():
    with pytest.raises(AssertionError):
        parity(lambda m, x: m.exp(x) if m.__name__ == "torch" else m.exp(x) * 1.001, rand(3, 4))


def test_wrong_dtype_fails_parity():
    with pytest.raises(AssertionError, match="dtype"):
        parity(lambda m, x: x.sum() if m.__name__ == "torch" else x.sum().double(), rand(3))
