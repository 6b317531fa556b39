"""Every ```python block in README.md and docs/*.md runs (blocks of one page share a namespace).

A block that is deliberately not runnable (a sketch with ``...``, shell commands) must be
fenced as something other than ``python`` (e.g. ``text``, ``sh``, ``pycon``).  Pages run in a
temporary folder in which ``data/`` is the shared data folder, so pages load MNIST from
``data/mnist`` and Tiny Shakespeare from ``data/tinyshakespeare``.
"""
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LAYERWISE_TEST_DATA") or ROOT.parent / "shared" / "data")
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)


def blocks(page):
    return FENCE.findall(page.read_text())


def test_pages_have_examples():
    assert sum(len(blocks(p)) for p in PAGES) >= 10


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_doc_examples_run(page, tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(DATA, target_is_directory=True)
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks(page)):
        try:
            exec(compile(code, f"{page.name} block {i + 1}", "exec"), namespace)
        except Exception as e:       # name the page and block in the failure
            raise AssertionError(f"{page.name}, python block {i + 1} failed: {type(e).__name__}: {e}\n{code}") from e
