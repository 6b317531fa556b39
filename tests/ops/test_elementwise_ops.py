"""Elementwise ops against torch: forward, every input gradient, output dtype, float32 and float64.

Grids of shapes (broadcasting both ways, 0-d, size-1 dims) × ops, the torch edge cases (ties in
maximum/minimum, clamp at its bounds, pow at 0), random-shape trials, and a float64 gradcheck
per differentiable op.
"""
import numpy as np
import pytest
import torch

import layerwise as lw
from parity import const, distinct, gradcheck, parity, rand

# (shape of a, shape of b): equal, broadcasting in either direction, 0-d and size-1 dims.
BROADCAST = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((2, 1, 4), (3, 1)),
    ((3, 1), (2, 1, 4)),
    ((), (3,)),
    ((2, 3), ()),
    ((), ()),
    ((1,), (2, 3)),
    ((2, 3, 1), (1, 1, 4)),
    ((5, 1, 1), (1, 1)),
]

BINARY = {
    "add": lambda m, a, b: m.add(a, b),
    "add_op": lambda m, a, b: a + b,
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=-2.5),
    "sub": lambda m, a, b: m.sub(a, b),
    "sub_op": lambda m, a, b: a - b,
    "sub_alpha": lambda m, a, b: a.sub(b, alpha=3),
    "mul": lambda m, a, b: m.mul(a, b),
    "mul_op": lambda m, a, b: a * b,
    "div": lambda m, a, b: m.div(a, b),
    "div_op": lambda m, a, b: a / b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "max_binary": lambda m, a, b: m.max(a, b),
    "min_binary": lambda m, a, b: m.min(a, b),
    "pow_tt": lambda m, a, b: m.pow(a.abs() + 0.5, b),
    "pow_op": lambda m, a, b: (a.abs() + 0.5) ** b,
    "where": lambda m, a, b: m.where(a > 0, a, b),
    "chain": lambda m, a, b: (a * b + a) / (b * b + 1) - m.exp(a - b).sigmoid(),
}


def _pair(sa, sb):
    a = distinct(*sa, seed=1) if sa else np.array(0.7)
    b = distinct(*sb, seed=2) * 0.9 if sb else np.array(-1.3)   # no ties with a
    return a, b


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_parity(name, shapes):
    a, b = _pair(*shapes)
    if name.startswith("div"):
        b = np.where(np.abs(b) < 0.3, 0.7, b)
    parity(BINARY[name], a, b, what=name)


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum", "pow_tt", "where"])
def test_binary_one_side_constant(name):
    a, b = _pair((3, 4), (4,))
    parity(BINARY[name], a, const(b), what=name)
    parity(BINARY[name], const(a), b, what=name)


SCALAR = {
    "t+s": lambda m, x: x + 2,
    "s+t": lambda m, x: 2.5 + x,
    "t-s": lambda m, x: x - 2.5,
    "s-t": lambda m, x: 3 - x,
    "t*s": lambda m, x: x * -1.5,
    "s*t": lambda m, x: 2 * x,
    "t/s": lambda m, x: x / 4,
    "s/t": lambda m, x: 2 / x,
    "neg": lambda m, x: -x,
    "neg_fn": lambda m, x: m.neg(x),
    "pow2": lambda m, x: x ** 2,
    "pow3": lambda m, x: m.pow(x, 3),
    "pow0": lambda m, x: x ** 0,
    "pow_neg1": lambda m, x: x ** -1,
    "pow_half": lambda m, x: x.abs() ** 0.5,
    "pow_frac": lambda m, x: x.abs() ** -1.5,
    "rpow": lambda m, x: 2 ** x,
    "rpow_frac": lambda m, x: m.pow(0.5, x),
    "square": lambda m, x: m.square(x),
    "maximum_0d": lambda m, x: m.maximum(x, m.tensor(0.25, dtype=x.dtype)),
    "where_scalar": lambda m, x: m.where(x > 0, x, 0.0),
    "where_scalar_first": lambda m, x: m.where(x > 0, -1.0, x),
}


@pytest.mark.parametrize("shape", [(3, 4), (5,), ()], ids=str)
@pytest.mark.parametrize("name", SCALAR)
def test_scalar_operand_parity(name, shape):
    x = distinct(*shape, seed=3) if shape else np.array(-0.8)
    parity(SCALAR[name], x, what=name)


def test_pow_at_zero_base():
    x = np.array([0.0, 1.5, -2.0, 0.0])
    parity(lambda m, x: x ** 2, x)                       # d/dx x² at 0 is 0
    parity(lambda m, x: x ** 0, x)                       # exponent 0: gradient 0 everywhere
    parity(lambda m, x, y: x ** y, np.array([0.0, 2.0, 0.0]), np.array([2.0, 0.5, 0.0]))
    parity(lambda m, y: m.pow(0.0, y), np.array([1.0, 2.0]))     # scalar base 0: d/dy = 0


def test_pow_integer_tensor():
    i = const(np.array([1, 2, 3]))
    parity(lambda m, i: i ** 2, i)
    parity(lambda m, i: i ** 0.5, i)                     # int ** float → float32
    parity(lambda m, i: 2 ** i, i)
    with pytest.raises(RuntimeError, match="negative integer"):
        lw.tensor([1, 2]) ** -1


UNARY = {
    "exp": (lambda m, x: m.exp(x), "any"),
    "exp_method": (lambda m, x: x.exp(), "any"),
    "log": (lambda m, x: m.log(x), "pos"),
    "log1p": (lambda m, x: m.log1p(x), "gt-1"),
    "sqrt": (lambda m, x: m.sqrt(x), "pos"),
    "rsqrt": (lambda m, x: m.rsqrt(x), "pos"),
    "abs": (lambda m, x: m.abs(x), "any"),
    "abs_op": (lambda m, x: abs(x), "any"),
    "sign": (lambda m, x: m.sign(x), "any"),
    "sin": (lambda m, x: m.sin(x), "any"),
    "cos": (lambda m, x: m.cos(x), "any"),
    "tanh": (lambda m, x: m.tanh(x), "any"),
    "sigmoid": (lambda m, x: m.sigmoid(x), "any"),
    "sigmoid_method": (lambda m, x: (x * 20).sigmoid(), "any"),   # saturating both ends
    "clamp": (lambda m, x: m.clamp(x, -1.0, 0.5), "any"),
    "clamp_min": (lambda m, x: x.clamp(min=-0.5), "any"),
    "clamp_max": (lambda m, x: x.clamp(max=0.3), "any"),
    "clip": (lambda m, x: m.clip(x, -0.5, 0.5), "any"),
    "clamp_lo_gt_hi": (lambda m, x: m.clamp(x, 1.0, -1.0), "any"),
}


def _unary_input(domain, shape, seed=4):
    x = distinct(*shape, seed=seed) if shape else np.array(0.6)
    if domain == "pos":
        return np.asarray(np.abs(x) + 0.1)
    if domain == "gt-1":
        return np.abs(x) * 0.3 - 0.9 if shape else np.array(-0.4)
    return x


@pytest.mark.parametrize("shape", [(3, 4), (2, 1, 3), ()], ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_parity(name, shape):
    fn, domain = UNARY[name]
    parity(fn, _unary_input(domain, shape), what=name)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "abs"])
def test_unary_on_integer_tensor(name):
    """Float math on an int tensor gives float32 (abs keeps int64), as torch."""
    fn, _ = UNARY[name]
    # the output is float32 in both runs of the harness: compare at float32 precision
    parity(fn, const(np.array([[1, 2], [3, 4]])), what=name, dtypes=("float32",))


def test_unary_special_values():
    x = np.array([0.0, -1.0, np.inf, -np.inf, 1e-30])
    parity(lambda m, x: m.log(x), const(x), grad=False)
    parity(lambda m, x: m.sqrt(x), const(x), grad=False)
    parity(lambda m, x: m.exp(x), const(np.array([-np.inf, 0.0, 80.0, -800.0])), grad=False)
    parity(lambda m, x: m.sigmoid(x), np.array([-800.0, -50.0, 0.0, 50.0, 800.0]), dtypes=("float64",))
    parity(lambda m, x: m.abs(x), np.array([0.0, -1.0, 2.0]))        # d|x|/dx = 0 at 0
    parity(lambda m, x: m.sign(x), np.array([0.0, -1.0, 2.0]))


def test_clamp_gradient_is_one_at_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
    parity(lambda m, x: m.clamp(x, -1.0, 1.0), x)
    lx = lw.tensor(x, requires_grad=True)
    lw.clamp(lx, -1.0, 1.0).sum().backward()
    assert lx.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]


CLAMP_TENSOR = [
    # (x shape, min shape or None, max shape or None)
    ((3, 4), (3, 4), (3, 4)),
    ((3, 4), (4,), None),
    ((3, 4), None, (3, 1)),
    ((2, 4), (4,), (1,)),
    ((2, 3), (2, 1), (3,)),
    ((3, 4), (), ()),
]


@pytest.mark.parametrize("shapes", CLAMP_TENSOR, ids=str)
def test_clamp_tensor_bounds(shapes):
    sx, slo, shi = shapes
    x = distinct(*sx, seed=5)
    lo = None if slo is None else (distinct(*slo, seed=6) * 0.5 - 0.6 if slo else np.array(-0.3))
    hi = None if shi is None else (distinct(*shi, seed=7) * 0.5 + 0.6 if shi else np.array(0.4))
    args = [x] + [a for a in (lo, hi) if a is not None]
    if lo is not None and hi is not None:
        fn = lambda m, x, lo, hi: m.clamp(x, lo, hi)  # noqa: E731
    elif lo is not None:
        fn = lambda m, x, lo: m.clamp(x, min=lo)  # noqa: E731
    else:
        fn = lambda m, x, hi: m.clamp(x, max=hi)  # noqa: E731
    parity(fn, *args, what="clamp tensor bounds")                      # gradients for the bounds too
    parity(fn, *args[:1], *[const(a) for a in args[1:]], what="clamp const tensor bounds")


def test_clamp_tensor_bounds_crossing():
    """min > max: the result is max; the gradient goes to max, as torch."""
    parity(lambda m, x, lo, hi: m.clamp(x, lo, hi), np.array([-2.0, 0.0, 2.0]),
           np.array([1.0, 1.0, 1.0]), np.array([-1.0, -1.0, 3.0]))


def test_clamp_dtypes():
    i = const(np.array([-2, 0, 3]))
    parity(lambda m, i: m.clamp(i, -1, 1), i)                # stays int64
    parity(lambda m, i: m.clamp(i, min=0.5), i)              # int + float bound → float32
    with pytest.raises(RuntimeError, match="at least one"):
        lw.clamp(lw.ones(2))


def test_maximum_minimum_ties_split_half():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, 2.0])
    for fn in (lambda m, a, b: m.maximum(a, b), lambda m, a, b: m.minimum(a, b)):
        parity(fn, a, b)
    la, lb = lw.tensor(a, requires_grad=True), lw.tensor(b, requires_grad=True)
    lw.maximum(la, lb).sum().backward()
    assert la.grad.tolist() == [0.5, 1.0, 0.5, 0.0] and lb.grad.tolist() == [0.5, 0.0, 0.5, 1.0]
    # ties under broadcasting: the gradient of the broadcast operand sums the halves
    parity(lambda m, a, b: m.maximum(a, b), np.array([[1.0, 2.0], [1.0, 0.5]]), np.array([1.0, 2.0]))


def test_where_variants():
    c = const(np.array([[True, False, True], [False, False, True]]))
    x, y = rand(2, 3), rand(3)
    parity(lambda m, c, x, y: m.where(c, x, y), c, x, y)
    parity(lambda m, c, x, y: m.where(c, x, y), c, rand(1, 3), rand(2, 1))
    parity(lambda m, c, x: m.where(c, x, 1.5), c, x)
    parity(lambda m, c, x: x.where(c, -x), c, x)
    parity(lambda m, c: m.where(c), c)                                  # nonzero form
    with pytest.raises(RuntimeError, match="bool"):
        lw.where(lw.tensor([1, 0]), lw.ones(2), lw.zeros(2))


COMPARE = {
    "eq": lambda m, a, b: m.eq(a, b), "ne": lambda m, a, b: a != b,
    "lt": lambda m, a, b: a < b, "le": lambda m, a, b: m.le(a, b),
    "gt": lambda m, a, b: m.gt(a, b), "ge": lambda m, a, b: a >= b,
    "eq_op": lambda m, a, b: a == b,
    "s_lt_t": lambda m, a, b: 0.5 < a, "s_ge_t": lambda m, a, b: 0.0 >= b,
    "t_gt_s": lambda m, a, b: a > 0.25,
    "logical_and": lambda m, a, b: m.logical_and(a > 0, b > 0),
    "logical_or": lambda m, a, b: m.logical_or(a > 0, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b > 0),
    "logical_not": lambda m, a, b: m.logical_not(a > 0),
    "and_op": lambda m, a, b: (a > 0) & (b > 0), "or_op": lambda m, a, b: (a > 0) | (b < 0),
    "invert": lambda m, a, b: ~(a > b), "xor_op": lambda m, a, b: (a > 0) ^ (b > 0),
    "isnan": lambda m, a, b: m.isnan(m.log(a)), "isfinite": lambda m, a, b: m.isfinite(m.log(a)),
    "isinf": lambda m, a, b: m.isinf(m.log(a.abs() * (a > 0.5))),
}


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((1, 4), (3, 1)), ((), (2,))], ids=str)
@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_are_bool_without_grad(name, shapes):
    a, b = _pair(*shapes)
    b = b.copy()
    if b.ndim and a.ndim == b.ndim and a.shape == b.shape:
        b.flat[0] = a.flat[0]                                          # one equal pair
    parity(COMPARE[name], a, b, what=name)
    la = lw.tensor(a, requires_grad=True)
    out = COMPARE[name](lw, la, lw.tensor(b))
    assert out.dtype == lw.bool and not out.requires_grad


def test_compare_int_with_float():
    parity(lambda m, i: i < 1.5, const(np.array([1, 2, 3])))
    parity(lambda m, i, x: i == x, const(np.array([1, 2])), const(np.array([1.0, 2.5])))


def test_float_int_mixed_arithmetic_keeps_gradient():
    """float32 tensor ∘ int64 tensor → float32 (numpy would say float64), gradient to the float."""
    i = const(np.array([[1, 2, 3], [4, 5, 6]]))
    for fn in (lambda m, x, i: x * i, lambda m, x, i: i / x, lambda m, x, i: x - i,
               lambda m, x, i: m.maximum(x, i), lambda m, x, i: m.where(x > 0, x, i)):
        parity(fn, rand(2, 3) + 3.0, i)


def test_integer_division_and_friends():
    a = const(np.array([7, -7, 6, -3]))
    b = const(np.array([2, 2, -4, 5]))
    for fn in (lambda m, a, b: a / b, lambda m, a, b: a // b, lambda m, a, b: a % b,
               lambda m, a, b: m.div(a, b, rounding_mode="trunc"), lambda m, a, b: a * b + 3,
               lambda m, a, b: m.floor_divide(a, 3), lambda m, a, b: a - 1):
        parity(fn, a, b)
    x = const(np.array([2.7, -2.7, 0.5, -0.5]))
    for fn in (lambda m, x: m.floor(x), lambda m, x: m.ceil(x), lambda m, x: m.trunc(x),
               lambda m, x: m.round(x), lambda m, x: x % 1.5):
        parity(fn, x)


@pytest.mark.parametrize("op", ["floor", "ceil", "trunc", "round"])
def test_rounding_has_zero_gradient_and_keeps_int_dtype(op):
    x = np.array([2.7, -2.7, 0.4, -0.6, 1.25])
    parity(lambda m, x: getattr(m, op)(x), x)                     # requires grad, gradient 0
    parity(lambda m, x: getattr(x, op)() * x, x)
    parity(lambda m, i: getattr(m, op)(i), const(np.array([1, -2, 3])))       # int stays int
    parity(lambda m, x: m.round(x, decimals=1), x)


def test_rounding_division_has_zero_gradient():
    a, b = np.array([2.5, -2.5, 7.0, -0.3]), np.array([2.0, 2.0, -3.0, 0.7])
    for fn in (lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
               lambda m, a, b: a.div(b, rounding_mode="floor") * a):
        parity(fn, a, b)
    parity(lambda m, a, b: a // b, a, const(b), grad=False)     # torch has no backward for //
    assert (lw.tensor(a, requires_grad=True) // 2).requires_grad
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        lw.tensor([1, 2]) // 0
    with pytest.raises(ValueError, match="rounding_mode"):
        lw.div(lw.ones(2), 2, rounding_mode="round")


def test_special_values_are_silent_like_torch():
    """inf/nan arise without NumPy warnings, forward and backward."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = lw.tensor([0.0, -1.0, 1000.0, float("inf")], requires_grad=True)
        y = (1 / x) + x.exp() + x.log() + x ** 0.5 + x.sqrt() + (x * 1e300) + x.softmax(0)
        y.sum().backward()
        assert np.isnan(x.grad.numpy()).any()


def test_remainder_gradient():
    parity(lambda m, x, y: m.remainder(x, y), np.array([2.3, -2.3, 5.1]), np.array([1.1, 1.1, -2.2]))


def test_in_place_arithmetic_parity():
    def fn(m, x, y):
        z = x * 1
        z.add_(y)
        z.mul_(y)
        z.sub_(x, alpha=0.5)
        z.div_(2.0)
        return z
    parity(fn, rand(3, 4), rand(4))


# ------------------------------------------------------------------ random shapes
def _random_broadcast_pair(rng):
    nd = rng.integers(0, 4)
    full = [int(rng.integers(1, 4)) for _ in range(nd)]
    def squash(shape):
        keep = rng.integers(0, len(shape) + 1)
        return tuple(1 if rng.random() < 0.3 else s for s in shape[len(shape) - keep:])
    return squash(full), squash(full)


@pytest.mark.parametrize("trial", range(12))
def test_random_broadcast_trials(trial):
    rng = np.random.default_rng(100 + trial)
    sa, sb = _random_broadcast_pair(rng)
    a, b = rand(*sa, seed=trial), rand(*sb, seed=trial + 50) + 3.0
    fn = [BINARY["add"], BINARY["mul"], BINARY["div"], BINARY["sub"], BINARY["chain"]][trial % 5]
    parity(fn, a, b, what=f"trial {trial}: {sa} ∘ {sb}")
    parity(lambda m, a, b: m.where(a > 0, a * b, b), a, b, what=f"where trial {trial}")


# ------------------------------------------------------------------ gradcheck
GRADCHECK = {
    "add": (lambda m, a, b: a + b * 2, [(3, 4), (4,)]),
    "sub": (lambda m, a, b: a - b, [(3, 1), (1, 4)]),
    "mul": (lambda m, a, b: a * b, [(2, 3), (2, 1)]),
    "div": (lambda m, a, b: a / (b * b + 0.5), [(2, 3), (3,)]),
    "pow": (lambda m, a, b: (a * a + 0.5) ** b, [(2, 3), (3,)]),
    "pow_scalar": (lambda m, a: a ** 3 + 2 ** a, [(4,)]),
    "neg": (lambda m, a: -a, [(3,)]),
    "exp": (lambda m, a: m.exp(a), [(3, 2)]),
    "log": (lambda m, a: m.log(a * a + 0.1), [(3, 2)]),
    "log1p": (lambda m, a: m.log1p(a * a), [(3,)]),
    "sqrt": (lambda m, a: m.sqrt(a * a + 0.2), [(3,)]),
    "rsqrt": (lambda m, a: m.rsqrt(a * a + 0.2), [(3,)]),
    "abs": (lambda m, a: m.abs(a), [(5,)]),
    "clamp": (lambda m, a: m.clamp(a, -1.0, 1.0), [(6,)]),
    "clamp_tensor": (lambda m, a, lo: m.clamp(a, min=lo), [(6,), (6,)]),
    "maximum": (lambda m, a, b: m.maximum(a, b), [(6,), (6,)]),
    "minimum": (lambda m, a, b: m.minimum(a, b), [(2, 3), (3,)]),
    "where": (lambda m, a, b: m.where(a > 0, a, b), [(6,), (6,)]),
    "sin": (lambda m, a: m.sin(a), [(4,)]),
    "cos": (lambda m, a: m.cos(a), [(4,)]),
    "tanh": (lambda m, a: m.tanh(a), [(4,)]),
    "sigmoid": (lambda m, a: m.sigmoid(a), [(4,)]),
    "remainder": (lambda m, a: m.remainder(a, 0.7), [(5,)]),
    "cast": (lambda m, a: a.float().double() * 1, [(3,)]),
    "sign": (lambda m, a: m.sign(a) * a, [(4,)]),
    "square": (lambda m, a: m.square(a), [(4,)]),
}


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = [distinct(*s, seed=10 + i) * (0.9 ** i) for i, s in enumerate(shapes)]
    if name == "cast":          # float32 round trip: finite difference must see float32 noise
        assert gradcheck(fn, *inputs, eps=1e-2, atol=1e-4, rtol=1e-3)
        return
    assert gradcheck(fn, *inputs)


# ------------------------------------------------------------------ clear errors
def test_broadcast_error_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(3, 4\).*\(2, 4\)"):
        lw.ones(3, 4) + lw.ones(2, 4)
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(4,\)"):
        lw.maximum(lw.ones(3), lw.ones(4))
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(3, 2\)"):
        lw.where(lw.ones(2, 3) > 0, lw.ones(2, 3), lw.ones(3, 2))


def test_bool_subtraction_raises_like_torch():
    with pytest.raises(RuntimeError, match="Subtraction.*bool"):
        lw.tensor([True, False]) - lw.tensor([True, True])
    with pytest.raises(RuntimeError, match="Subtraction.*bool"):
        lw.ones(2) - True


def test_operand_of_wrong_type_raises():
    with pytest.raises(TypeError, match="Tensor or a number"):
        lw.ones(2) + [1.0, 2.0]
    with pytest.raises(TypeError):
        lw.ones(2) * "a"
