"""The Tensor and its creation functions against torch: dtype inference, memory sharing, creation
values, seeded randomness, casts, devices, attributes, repr, and torch's type promotion."""
import itertools

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise import dtypes

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def name(t):
    return str(t.dtype).split(".")[-1]


# ------------------------------------------------------------------ creation & dtype inference
INFER = [1.5, 3, True, [1.0, 2.0], [1, 2], [True, False], [[1, 2], [3, 4]], [1, 2.5], [True, 2],
         np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), np.array([1.0], dtype=np.float32),
         np.float64(2.0), np.int16(3), np.array(True), [], [[]], np.zeros((2, 0))]


@pytest.mark.parametrize("data", INFER, ids=repr)
def test_tensor_dtype_inference_like_torch(data):
    t, l = torch.tensor(data), lw.tensor(data)
    assert name(l) == name(t) and tuple(l.shape) == tuple(t.shape)
    np.testing.assert_array_equal(l.numpy(), t.numpy())
    a, b = torch.as_tensor(data), lw.as_tensor(data)
    assert name(b) == name(a) and tuple(b.shape) == tuple(a.shape)


def test_tensor_copies_as_tensor_and_from_numpy_share():
    arr = np.arange(6.0).reshape(2, 3)
    t = lw.tensor(arr)
    a = lw.as_tensor(arr)
    f = lw.from_numpy(arr)
    arr[0, 0] = 100.0
    assert t[0, 0].item() == 0.0
    assert a[0, 0].item() == 100.0 and f[0, 0].item() == 100.0
    f[1, 1] = -5.0                                          # writes show in the array
    assert arr[1, 1] == -5.0
    assert f.numpy() is arr or np.shares_memory(f.numpy(), arr)
    assert lw.as_tensor(arr, dtype=lw.float32).dtype == lw.float32    # a cast copies
    src = lw.ones(3)
    assert lw.as_tensor(src) is src
    c = lw.tensor(src)
    c[0] = 7.0
    assert src[0].item() == 1.0                             # lw.tensor(Tensor) copies
    with pytest.raises(TypeError, match="np.ndarray"):
        lw.from_numpy([1, 2])


def test_tensor_from_list_of_tensors_and_requires_grad():
    t = lw.tensor([lw.tensor(1.0), lw.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0] and t.dtype == lw.float32
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad is None
    with pytest.raises(RuntimeError, match="floating point"):
        lw.tensor([1, 2], requires_grad=True)


CREATE = [
    ("zeros", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3), dtype=m.int32)),
    ("zeros_0d", lambda m: m.zeros(())),
    ("ones", lambda m: m.ones(4, dtype=m.float64)),
    ("ones_list", lambda m: m.ones([1, 2])),
    ("full_float", lambda m: m.full((2, 2), 1.5)),
    ("full_int", lambda m: m.full((3,), 7)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("full_dtype", lambda m: m.full([2], 2, dtype=m.float64)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int32))),
    ("ones_like", lambda m: m.ones_like(m.zeros(2), dtype=m.float64)),
    ("full_like", lambda m: m.full_like(m.zeros(2, 2), 3)),
    ("full_like_int", lambda m: m.full_like(m.zeros(3, dtype=m.int64), 2.7)),
    ("arange_int", lambda m: m.arange(5)),
    ("arange_start_int", lambda m: m.arange(2, 11, 3)),
    ("arange_neg_step", lambda m: m.arange(10, 0, -3)),
    ("arange_float", lambda m: m.arange(0, 1, 0.1)),
    ("arange_float_end", lambda m: m.arange(5.0)),
    ("arange_neg_float", lambda m: m.arange(10, 0, -2.5)),
    ("arange_empty", lambda m: m.arange(3, 3)),
    ("arange_dtype", lambda m: m.arange(4, dtype=m.float64)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace_neg", lambda m: m.linspace(-3, 7, 11)),
    ("linspace_1", lambda m: m.linspace(2, 3, 1)),
    ("linspace_dtype", lambda m: m.linspace(0, 1, 7, dtype=m.float64)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 4)),
    ("eye_dtype", lambda m: m.eye(3, dtype=m.int64)),
]


@pytest.mark.parametrize("fn", [c[1] for c in CREATE], ids=[c[0] for c in CREATE])
def test_creation_matches_torch(fn):
    t, l = fn(torch), fn(lw)
    assert name(l) == name(t) and tuple(l.shape) == tuple(t.shape)
    np.testing.assert_allclose(l.numpy().astype(np.float64), t.numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7)


def test_empty_and_requires_grad_creation():
    e = lw.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == lw.float32
    assert lw.empty_like(lw.zeros(4, dtype=lw.int16)).dtype == lw.int16
    z = lw.zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert lw.ones(2, 2).new_zeros(3).dtype == lw.float32
    assert lw.ones(2, dtype=lw.float64).new_ones((2, 1)).dtype == lw.float64
    assert lw.ones(2).new_full((2,), 4.0).tolist() == [4.0, 4.0]
    assert lw.ones(2, dtype=lw.float64).new_tensor([1, 2]).dtype == lw.float64
    with pytest.raises(ValueError, match="non-negative"):
        lw.zeros(-1)


@pytest.mark.parametrize("maker", [
    lambda g: lw.rand(3, 4, generator=g),
    lambda g: lw.randn(2, 5, generator=g),
    lambda g: lw.randint(0, 10, (6,), generator=g),
    lambda g: lw.randint(5, (2, 3), generator=g),
    lambda g: lw.randperm(8, generator=g),
    lambda g: lw.rand_like(lw.zeros(2, 2, dtype=lw.float64), generator=g),
    lambda g: lw.randn_like(lw.zeros(3), generator=g),
])
def test_random_is_reproducible(maker):
    lw.manual_seed(123)
    a = maker(None)
    b = maker(None)
    lw.manual_seed(123)
    c = maker(None)
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())           # the stream moves on
    g1, g2 = lw.Generator().manual_seed(7), lw.Generator().manual_seed(7)
    np.testing.assert_array_equal(maker(g1).numpy(), maker(g2).numpy())
    lw.manual_seed(999)
    state = lw.get_rng_state()
    d = maker(None)
    lw.set_rng_state(state)
    np.testing.assert_array_equal(d.numpy(), maker(None).numpy())


def test_random_dtypes_and_ranges():
    lw.manual_seed(0)
    r, n = lw.rand(1000), lw.randn(1000, dtype=lw.float64)
    i, p = lw.randint(3, 7, (1000,)), lw.randperm(10)
    assert r.dtype == lw.float32 and n.dtype == lw.float64 and i.dtype == lw.int64 and p.dtype == lw.int64
    assert 0 <= r.min().item() and r.max().item() < 1
    assert abs(n.mean().item()) < 0.15 and abs(n.std().item() - 1) < 0.1
    assert set(i.tolist()) == {3, 4, 5, 6}
    assert sorted(p.tolist()) == list(range(10))
    assert lw.initial_seed() == 0


# ------------------------------------------------------------------ dtypes & casts
def test_dtype_aliases():
    assert lw.float is lw.float32 and lw.double is lw.float64 and lw.half is lw.float16
    assert lw.long is lw.int64 and lw.int is lw.int32 and lw.short is lw.int16
    assert lw.bool.is_floating_point is False and lw.float64.is_floating_point
    assert repr(lw.float32) == "layerwise.float32" and lw.float32.itemsize == 4
    assert lw.get_default_dtype() is lw.float32
    assert dtypes.as_dtype(float) is lw.float64 and dtypes.as_dtype(int) is lw.int64
    assert dtypes.as_dtype(np.float32) is lw.float32 and dtypes.as_dtype("double") is lw.float64
    with pytest.raises(TypeError, match="dtype"):
        dtypes.as_dtype("complex128")


CASTS = [
    lambda t: t.float(), lambda t: t.double(), lambda t: t.long(), lambda t: t.int(),
    lambda t: t.half(), lambda t: t.bool(), lambda t: t.to(t.new_zeros(1, dtype=_lib(t).int16)),
    lambda t: t.to(_lib(t).float64), lambda t: t.to(dtype=_lib(t).int8),
    lambda t: t.type(_lib(t).float64), lambda t: t.to("cpu", _lib(t).float16),
    lambda t: t.type_as(_lib(t).zeros(1, dtype=_lib(t).int64)),
]


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else lw


@pytest.mark.parametrize("k", range(len(CASTS)))
def test_casts_match_torch(k):
    data = [[-1.7, 0.0, 2.5], [3.2, -0.4, 1.0]]
    t, l = CASTS[k](torch.tensor(data)), CASTS[k](lw.tensor(data))
    assert name(l) == name(t)
    np.testing.assert_array_equal(l.numpy().astype(np.float64), t.numpy().astype(np.float64))


def test_cast_keeps_or_drops_gradient():
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype == lw.float64
    (y * 3).sum().backward()
    assert x.grad.dtype == lw.float32 and x.grad.tolist() == [3.0, 3.0]
    assert not x.long().requires_grad
    assert x.float() is x and x.to(lw.float32) is x
    assert x.to(lw.float32, copy=True) is not x
    assert x.type() == "layerwise.float32"


def test_set_default_dtype():
    try:
        lw.set_default_dtype(lw.float64)
        assert lw.tensor([1.5]).dtype == lw.float64 and lw.zeros(2).dtype == lw.float64
        assert (lw.tensor([1, 2]) / 2).dtype == lw.float64
        assert lw.arange(0.0, 1.0, 0.5).dtype == lw.float64
    finally:
        lw.set_default_dtype(lw.float32)
    with pytest.raises(TypeError, match="floating point"):
        lw.set_default_dtype(lw.int64)


# ------------------------------------------------------------------ devices
def test_devices():
    x = lw.ones(2, device="cpu")
    for make in (lambda: lw.zeros(2, device="cpu"), lambda: lw.tensor([1.0], device="cpu"),
                 lambda: lw.arange(3, device="cpu"), lambda: lw.rand(2, device=lw.device("cpu")),
                 lambda: lw.full((2,), 1.0, device="cpu"), lambda: lw.eye(2, device="cpu"),
                 lambda: lw.linspace(0, 1, 3, device="cpu"), lambda: lw.randint(0, 3, (2,), device="cpu")):
        assert make().device == lw.device("cpu")
    assert x.to("cpu") is x and x.cpu() is x and x.to(lw.device("cpu")) is x
    assert x.device.type == "cpu" and str(x.device) == "cpu" and x.device == "cpu"
    assert repr(lw.device("cpu")) == "device(type='cpu')" and not x.is_cuda
    assert lw.cuda.is_available() is False and lw.cuda.device_count() == 0
    for bad in (lambda: lw.zeros(2, device="cuda"), lambda: x.to("cuda"), lambda: x.cuda(),
                lambda: lw.device("cuda:0"), lambda: lw.tensor([1.0], device="cuda"),
                lambda: x.to("cuda", lw.float64)):
        with pytest.raises(RuntimeError, match="cuda.*not available.*CPU"):
            bad()


# ------------------------------------------------------------------ attributes
def test_attributes():
    x = lw.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2
    assert isinstance(x.shape, lw.Size) and repr(x.shape) == "layerwise.Size([2, 3])"
    assert x.numel() == 6 and x.ndim == 2 and x.dim() == 2 and len(x) == 2
    assert x.shape.numel() == 6 and x.element_size() == 4 and x.is_floating_point()
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[1, 2].item() == 6.0 and isinstance(x[1, 2].item(), float)
    assert isinstance(lw.tensor(3).item(), int) and isinstance(lw.tensor(True).item(), bool)
    assert float(x[0, 0]) == 1.0 and int(x[1, 0]) == 4 and bool(x[0, 1])
    assert [row.tolist() for row in x] == x.tolist()
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().dtype == np.float32
    with pytest.raises(RuntimeError, match="2 values is ambiguous"):
        bool(lw.ones(2))
    with pytest.raises(RuntimeError, match="6 elements"):
        x.item()
    with pytest.raises(TypeError, match="0-d"):
        len(lw.tensor(1.0))
    with pytest.raises(IndexError, match="out of range"):
        x.size(2)
    assert list(range(10))[lw.tensor(3)] == 3                   # __index__


def test_requires_grad_and_detach():
    x = lw.ones(3)
    assert not x.requires_grad
    x.requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), y.detach().numpy())
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        y.numpy()
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        lw.ones(2, dtype=lw.int64).requires_grad_()


# ------------------------------------------------------------------ repr
REPR = [
    [1.0, 2.0, 3.0], [1, 2, 3], [True, False], [[1.5, 2.25], [3.0, 4.0]], 3.5, 7, [0.1, 0.25],
    [1e-5, 1.0], [1e10, 1.0], [], [1.123456789, -2.0], [0.5, 1000.0], [-1e-5, 1.0],
    [float("nan"), 1.5, float("-inf")], [0.0, 0.0], [[0.25] * 3] * 4, list(range(12)),
    [x / 7 for x in range(12)],
]


def _representable(data, dtype):
    return dtype != "int32" or all(np.isfinite(v) and abs(v) < 2**31 for v in np.ravel(data))


@pytest.mark.parametrize("data,dtype", [(d, k) for d in REPR for k in (None, "float64", "int32")
                                        if _representable(d, k)], ids=repr)
def test_repr_matches_torch(data, dtype):
    t = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    l = lw.tensor(data, dtype=getattr(lw, dtype) if dtype else None)
    assert repr(l) == repr(t).replace("torch.", "layerwise.")


def test_repr_with_grad():
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(lw.zeros(2, 0)) == "tensor([], size=(2, 0))"
    assert f"{lw.tensor(2.5):.2f}" == "2.50"


# ------------------------------------------------------------------ type promotion
def _operands(lib):
    """Every dtype as a tensor with dims and as a 0-d tensor, plus Python bool/int/float."""
    out = []
    for n in DTYPES:
        out.append((f"{n}[2]", lib.ones(2, dtype=getattr(lib, n))))
        out.append((f"{n}[]", lib.ones((), dtype=getattr(lib, n))))
    return out + [("True", True), ("2", 2), ("2.5", 2.5)]


OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "/": lambda a, b: a / b}


@pytest.mark.parametrize("op", OPS)
def test_type_promotion_grid_matches_torch(op):
    """(tensor, 0-d tensor, Python scalar) × every dtype, both orders, against torch."""
    f = OPS[op]
    checked = 0
    for (na, ta), (la_name, la) in zip(_operands(torch), _operands(lw)):
        for (nb, tb), (_, lb) in zip(_operands(torch), _operands(lw)):
            if not isinstance(ta, torch.Tensor) and not isinstance(tb, torch.Tensor):
                continue
            try:
                expect = name(f(ta, tb))
            except RuntimeError:                               # torch refuses (bool subtraction)
                with pytest.raises(RuntimeError):
                    f(la, lb)
                continue
            got = name(f(la, lb))
            assert got == expect, f"{na} {op} {nb}: layerwise {got}, torch {expect}"
            if isinstance(ta, torch.Tensor) and isinstance(tb, torch.Tensor):
                assert dtypes.result_type(la, lb).name == name(torch.empty(0, dtype=torch.result_type(ta, tb))) \
                    or op == "/"
            checked += 1
    assert checked == (432 if op != "-" else 320)      # 21 × 21 minus scalar ∘ scalar


def test_result_type_against_torch_result_type():
    for (na, ta), (_, la) in zip(_operands(torch), _operands(lw)):
        for (nb, tb), (_, lb) in zip(_operands(torch), _operands(lw)):
            if not isinstance(ta, torch.Tensor):
                continue
            expect = str(torch.result_type(ta, tb)).split(".")[-1]
            assert dtypes.result_type(la, lb).name == expect, f"result_type({na}, {nb})"


@pytest.mark.parametrize("expr,expected", [
    (lambda m: m.tensor([1, 2]) / m.tensor([2, 4]), "float32"),
    (lambda m: m.tensor([1, 2]) + 2.5, "float32"),
    (lambda m: m.ones(2) + m.tensor(1.0, dtype=m.float64), "float32"),
    (lambda m: m.ones(2) + m.ones(2, dtype=m.float64), "float64"),
    (lambda m: m.tensor([True]) + m.tensor([3]), "int64"),
    (lambda m: m.tensor([True]) + True, "bool"),
    (lambda m: m.ones(2, dtype=m.float16) + m.tensor([3]), "float16"),
    (lambda m: m.ones(2, dtype=m.int32) * m.tensor(2), "int32"),
    (lambda m: m.ones(2, dtype=m.uint8) + m.ones(2, dtype=m.int8), "int16"),
    (lambda m: m.ones(2) * m.ones(2, dtype=m.int64), "float32"),
    (lambda m: m.tensor(2) * 1.5, "float32"),
    (lambda m: m.maximum(m.ones(2, dtype=m.int32), m.ones(2)), "float32"),
    (lambda m: m.where(m.ones(2) > 0, m.ones(2, dtype=m.float64), 1), "float64"),
    (lambda m: m.cat([m.ones(2, dtype=m.int32), m.ones(1)]), "float32"),
    (lambda m: m.tensor([1, 2]) ** 2.0, "float32"),
    (lambda m: m.tensor([3]) // 2, "int64"),
])
def test_promotion_examples(expr, expected):
    assert name(expr(torch)) == expected
    assert name(expr(lw)) == expected


def test_mean_of_int_tensor_raises():
    with pytest.raises(RuntimeError, match="mean.*floating point"):
        lw.tensor([1, 2, 3]).mean()
    assert lw.tensor([1, 2, 3]).float().mean().item() == 2.0
    assert lw.tensor([1, 2, 3]).mean(dtype=lw.float64).dtype == lw.float64


def test_pickle_and_deepcopy_round_trip():
    import copy
    import pickle
    x = lw.tensor([1.0, 2.0], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    z = copy.deepcopy(x)
    for t in (y, z):
        assert t.tolist() == [1.0, 2.0] and t.requires_grad and t.dtype == lw.float32
        assert not np.shares_memory(t.detach().numpy(), x.detach().numpy())
    assert pickle.loads(pickle.dumps(lw.float64)) is lw.float64
    with pytest.raises(RuntimeError, match="leaf"):
        pickle.dumps(x * 2)


def test_combinations_do_not_mutate_inputs():
    a, b = lw.ones(2, 3), lw.full((3,), 2.0)
    for f in OPS.values():
        f(a, b)
    assert a.tolist() == [[1.0] * 3] * 2 and b.tolist() == [2.0] * 3
    assert list(itertools.islice(iter(a), 1))[0].tolist() == [1.0, 1.0, 1.0]


def test_out_of_range_python_int_wraps_like_torch():
    a = lw.tensor([1, -5], dtype=lw.int8) + 1000
    b = torch.tensor([1, -5], dtype=torch.int8) + 1000
    assert a.dtype == lw.int8 and a.tolist() == b.tolist()
