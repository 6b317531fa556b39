"""The Tensor core's shape (layerwise/tensor/): methods declared in mixin classes, no NumPy and
no nn/ imports in the package, the array seam (``_wrap``, device, ``numpy()``), Parameter's home.

These tests pass on both backends; under ``LAYERWISE_BACKEND=strict`` they also show that
tensors are built by the CPU module (strict arrays), not by NumPy directly.
"""
import ast
import pydoc
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise import backend
from layerwise.tensor import core, mixins

CORE = Path(lw.__file__).resolve().parent / "tensor"
SOURCES = sorted(CORE.rglob("*.py"))


def _module_name(path):
    rel = path.relative_to(CORE.parent.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text())
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                yield prefix + ("." + node.module if node.module else "")
                if not node.module:
                    yield from (prefix + "." + a.name for a in node.names)
            else:
                yield node.module


def test_the_sources_are_found():
    names = {p.name for p in SOURCES}
    assert {"core.py", "creation.py", "format.py", "parameter.py", "elementwise.py", "reduce.py",
            "shape.py", "index.py", "linalg.py", "activation.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CORE)))
def test_the_tensor_core_imports_neither_numpy_nor_nn(path):
    bad = [m for m in _imports(path)
           if m == "numpy" or m.startswith("numpy.") or m == "layerwise.nn" or m.startswith("layerwise.nn.")]
    assert not bad, f"layerwise/tensor/{path.relative_to(CORE)} imports {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CORE)))
def test_no_module_of_the_core_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600


def _declared_in_class_bodies(cls):
    """Names bound by statements in the class body of ``cls`` (from its source file)."""
    import inspect
    tree = ast.parse(Path(inspect.getsourcefile(cls)).read_text())
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__).body
    names = set()
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
    return names


IMPLICIT = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__slots__",
            "__firstlineno__", "__static_attributes__", "__hash__", "__annotations__"}


@pytest.mark.parametrize("cls", (lw.Tensor,) + mixins.MIXINS, ids=lambda c: c.__name__)
def test_every_method_is_declared_in_its_class_body(cls):
    """Nothing is patched onto the Tensor from outside (no setattr loops): every attribute of
    the Tensor and of its mixins is written in the class statement a reader sees."""
    extra = set(cls.__dict__) - IMPLICIT - _declared_in_class_bodies(cls)
    assert not extra, f"{cls.__name__} has attributes set outside its class body: {sorted(extra)}"


def test_tensor_inherits_the_family_mixins():
    assert lw.Tensor.__mro__[1:-1] == mixins.MIXINS
    for name, family in [("exp", "ElementwiseMixin"), ("__lt__", "ComparisonMixin"),
                         ("sum", "ReduceMixin"), ("view", "ShapeMixin"),
                         ("__getitem__", "IndexMixin"), ("__matmul__", "LinalgMixin"),
                         ("relu", "ActivationMixin"), ("add_", "InplaceMixin")]:
        owner = next(c for c in lw.Tensor.__mro__ if name in c.__dict__)
        assert owner.__name__ == family, (name, owner)


def test_methods_are_the_functions_themselves_so_a_call_costs_no_extra_frame():
    for name in ["exp", "add", "sum", "reshape", "permute", "gather", "matmul",
                 "softmax", "eq", "clamp"]:
        assert getattr(lw.Tensor, name) is getattr(lw, name), name


def test_help_lists_the_mixin_methods():
    text = pydoc.render_doc(lw.Tensor, renderer=pydoc.plaintext)
    for name in ["exp(", "logsumexp(", "unsqueeze(", "index_select(", "matmul(", "log_softmax(",
                 "masked_fill_(", "__add__", "ElementwiseMixin"]:
        assert name in text, name


def test_relu_method_uses_the_op_and_keeps_integer_dtypes():
    x = lw.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = x.relu()
    assert type(y.grad_fn).__name__ == "ReLU" and y.tolist() == [0.0, 0.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    assert lw.tensor([-2, 3]).relu().tolist() == [0, 3]


# ---------------------------------------------------------------------- the array seam
def test_wrap_keeps_backend_arrays_and_moves_other_data_explicitly():
    xp = backend.cpu_module()
    a = xp.ones((2, 3), dtype=np.float32)
    assert lw.Tensor._wrap(a).array is a                      # a backend array: unchanged
    host = np.zeros(3)
    assert lw.Tensor._wrap(host).array is host                # NumPy arrays are backend arrays
    s = lw.Tensor._wrap(np.float32(2.5))                       # a NumPy scalar: a 0-d CPU array
    assert backend.is_array(s.array) and s.shape == () and s.dtype == lw.float32
    assert backend.get_array_module(s.array) is xp


def test_creation_builds_arrays_with_the_cpu_module():
    xp = backend.cpu_module()
    for t in [lw.tensor([1.0, 2.0]), lw.zeros(2), lw.ones(2, 3), lw.full((2,), 3), lw.arange(4),
              lw.arange(0, 1, 0.25), lw.linspace(0, 1, 3), lw.eye(2), lw.rand(2), lw.randn(3),
              lw.randint(0, 5, (2,)), lw.randperm(4), lw.empty(2), lw.as_tensor([1, 2]),
              lw.from_numpy(np.ones(2)), lw.Tensor([1.0]), lw.nn.Parameter(lw.ones(1)),
              lw.multinomial(lw.tensor([0.2, 0.8]), 2, replacement=True)]:
        assert backend.get_array_module(t.array) is xp, t


def test_from_numpy_and_as_tensor_share_memory_on_either_backend():
    h = np.arange(4.0)
    for t in (lw.from_numpy(h), lw.as_tensor(h)):
        t[0] = -1.0
        assert h[0] == -1.0
        h[0] = 0.0
        assert t[0].item() == 0.0
        assert np.shares_memory(t.numpy(), h)


def test_device_follows_the_array_and_numpy_goes_through_the_backend():
    t = lw.ones(3)
    assert t.device == lw.device("cpu") and not t.is_cuda
    n = t.numpy()
    assert type(n) is np.ndarray and np.shares_memory(n, backend.to_numpy(t.array))
    assert type(np.asarray(t)) is np.ndarray and np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="no device"):
        core.device_of([1, 2])


def test_printing_and_python_conversions_bring_values_to_the_host():
    t = lw.tensor([[1.5, -2.0], [3.0, 4.25]], requires_grad=True)
    assert repr(t) == "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.2500]], requires_grad=True)"
    assert t.tolist() == [[1.5, -2.0], [3.0, 4.25]] and float(t[0, 0]) == 1.5
    assert f"{t.sum():.2f}" == "6.75" and lw.tensor([[1, 2]]).tolist() == [[1, 2]]


def test_index_lists_and_host_arrays_move_to_the_tensor_array_module():
    t = lw.arange(10).reshape(2, 5)
    assert t[[1, 0]].tolist() == [[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]]
    assert t[1, np.array([0, 4])].tolist() == [5, 9]
    assert t[np.array([True, False])].tolist() == [[0, 1, 2, 3, 4]]
    t[0, np.array([1, 2])] = lw.tensor([-1, -2])
    assert t[0].tolist() == [0, -1, -2, 3, 4]
    with pytest.raises(IndexError, match="long, int or bool"):
        t[[0.5]]


def test_random_fills_move_host_draws_into_the_tensor():
    g = lw.Generator().manual_seed(3)
    t = lw.zeros(1000).uniform_(-1, 1, generator=g)
    assert backend.get_array_module(t.array) is backend.cpu_module()
    assert -1 <= t.min().item() and t.max().item() < 1 and abs(t.mean().item()) < 0.1


# ---------------------------------------------------------------------- Parameter's home
def test_parameter_and_buffer_live_in_the_tensor_core_and_nn_reexports_them():
    from layerwise.nn import parameter as nn_parameter
    from layerwise.tensor import parameter
    assert lw.nn.Parameter is nn_parameter.Parameter is parameter.Parameter
    assert lw.nn.Buffer is nn_parameter.Buffer is parameter.Buffer
    assert lw.nn.Parameter.__module__ == "layerwise.tensor.parameter"
    p = lw.nn.Parameter()
    assert p.shape == (0,) and p.dtype == lw.float32 and p.requires_grad
    b = lw.nn.Buffer([1, 2], persistent=False)
    assert b.tolist() == [1, 2] and not b.persistent and not b.requires_grad


def test_the_old_module_names_still_import():
    import importlib
    old = importlib.import_module("layerwise._tensor_ops")
    package = importlib.import_module("layerwise.tensor")     # lw.tensor is the function
    from layerwise.tensor import Tensor
    assert Tensor is lw.Tensor and package.cat is lw.cat is old.cat
    assert old._as_float_input(lw.tensor([1, 2]), "f").dtype == lw.float32
