"""The strict stand-in backend: NumPy's values, CuPy's refusals (see layerwise/backend/strict.py)."""
import numpy as np
import pytest

from layerwise.backend import (StrictArray, StrictConversionError, asarray, get_array_module,
                               is_writeable, scatter_add, strict, to_numpy)


def dev(a):
    return asarray(np.asarray(a), xp=strict)


def test_values_are_numpys_bit_for_bit():
    h = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    d = dev(h)
    for f in (lambda m, x: m.exp(x) * 2 + 1, lambda m, x: (x @ x.T).sum(axis=0),
              lambda m, x: m.where(x > 0, x, -x)[1:, ::2], lambda m, x: m.tanh(x).astype(m.float64)):
        got = f(strict, d)
        assert type(got) is StrictArray
        np.testing.assert_array_equal(to_numpy(got), f(np, h))


@pytest.mark.parametrize("leak", [
    lambda d: np.asarray(d),
    lambda d: np.exp(d),
    lambda d: np.concatenate([d, d]),
    lambda d: d + np.ones(3),
    lambda d: strict.exp(np.ones(3)),
    lambda d: d[np.array([0, 1])],
    lambda d: np.zeros(3).__setitem__(Ellipsis, d),
], ids=["asarray", "ufunc", "array_function", "mixed_operand", "host_into_device", "host_index",
        "host_setitem"])
def test_every_implicit_conversion_is_refused(leak):
    with pytest.raises(StrictConversionError, match="strict backend"):
        leak(dev([1.0, 2.0, 3.0]))


def test_reductions_give_0d_device_arrays_that_convert_explicitly():
    s = dev([1.0, 2.0, 3.0]).sum()
    assert type(s) is StrictArray and s.shape == ()
    assert float(s) == 6.0 and s.item() == 6.0 and f"{s:.1f}" == "6.0"


def test_flags_have_no_writeable_as_in_cupy_but_the_backend_helper_answers():
    d = dev(np.ones(3))
    assert not hasattr(d.flags, "writeable") and d.flags.c_contiguous
    assert is_writeable(d) and not is_writeable(np.broadcast_to(np.ones(1), (3,)))


def test_array_module_and_explicit_moves():
    h = np.arange(3.0)
    d = dev(h)
    assert get_array_module(d) is strict and get_array_module(h) is np
    assert isinstance(d, strict.ndarray)
    out = strict.zeros(3)
    scatter_add(out, dev([0, 0, 2]), dev([1.0, 2.0, 5.0]))
    np.testing.assert_array_equal(to_numpy(out), [3.0, 0.0, 5.0])
    assert type(d.get()) is np.ndarray and not np.shares_memory(d.get(), to_numpy(d))
