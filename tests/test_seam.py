"""The array seam: outside layerwise/backend, code reaches NumPy only through the backend.

A part listed in PARTS may not import NumPy (``import numpy``, ``from numpy ...``) nor read the
backend's module-level ``xp`` constant (the stopgap being removed): it asks for the module of
its arrays (``get_array_module``) and does host-side index arithmetic through ``backend.host``.
Parts join the list as they move behind the seam; ``LAYERWISE_BACKEND=strict`` runs their
tests against arrays that refuse any leak around it (see the Makefile's ``test`` target).
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "layerwise"
PARTS = ["ops", "autograd"]
SOURCES = sorted(p for part in PARTS for p in (ROOT / part).rglob("*.py"))


def _leaks(path):
    """(line, what) for every NumPy import and every use of the backend's ``xp`` constant."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "numpy" or a.name.startswith("numpy."):
                    yield node.lineno, f"import {a.name}"
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if not node.level and (module == "numpy" or module.startswith("numpy.")):
                yield node.lineno, f"from {module} import ..."
            if module.endswith("backend") and any(a.name == "xp" for a in node.names):
                yield node.lineno, f"from {'.' * node.level}{module} import xp"
        elif isinstance(node, ast.Attribute) and node.attr == "xp" \
                and isinstance(node.value, ast.Name) and node.value.id == "backend":
            yield node.lineno, "backend.xp"


def test_the_sources_are_found():
    names = {p.name for p in SOURCES}
    assert {"conv.py", "recurrent.py", "function.py", "engine.py", "gradcheck.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_numpy_around_the_seam(path):
    leaks = list(_leaks(path))
    assert not leaks, f"layerwise/{path.relative_to(ROOT)} reaches around the array seam: {leaks}"


def test_the_check_finds_leaks(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\nfrom numpy.lib import stride_tricks\n"
                   "from ..backend import xp\nfrom .. import backend\ny = backend.xp\n")
    assert [line for line, _ in _leaks(bad)] == [1, 2, 3, 5]


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parent.name in ("ops", "autograd")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_of_ops_or_autograd_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600
