"""io/'s place in the house (docs/architecture.md): it needs only the Tensor core, meets it in
one module (``io/_tensors.py``), and stays in pieces a reader can hold."""
import ast
from pathlib import Path

import pytest

IO = Path(__file__).resolve().parents[2] / "layerwise" / "io"
MODULES = sorted(IO.glob("*.py"))


def imported_modules(tree):
    """The absolute-or-relative module names imported, as ``('..', 'nn.parameter')`` pairs."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield "." * node.level, node.module or ""
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield "", alias.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_io_imports_nothing_above_the_tensor_core(path):
    tree = ast.parse(path.read_text())
    for dots, module in imported_modules(tree):
        top = module.split(".")[0]
        if dots == "..":
            assert top in ("tensor", "backend", "dtypes", "device", "random", ""), (path.name, module)
        assert not (dots == "" and module.startswith("layerwise.")), (path.name, module)


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "_tensors.py"], ids=lambda p: p.name)
def test_only_the_seam_module_touches_tensors_and_their_arrays(path):
    tree = ast.parse(path.read_text())
    for dots, module in imported_modules(tree):
        assert not (dots == ".." and module.split(".")[0] in ("tensor", "backend")), \
            f"{path.name} imports {dots}{module}: go through io/_tensors.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr != "array", f"{path.name}:{node.lineno} reads .array"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_and_functions_are_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 600, path.name
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{path.name}: {node.name} is {length} lines"
