# Two commands do all the set-up on a fresh machine:
#   make demo   trains a model on the bundled digits and prints its progress and accuracy
#   make test   runs the whole test suite (PyTorch is the oracle)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.stamp-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(PY) -m pip install --quiet -e '.[test,demo]'
	touch $@

demo: $(VENV)/.stamp-base
	$(PY) examples/digits_demo.py

# The second run backs the CPU with the strict stand-in backend (arrays that refuse implicit
# conversion to NumPy, as CuPy's do), so every leak around the array seam fails a test.
test: $(VENV)/.stamp-test
	$(PY) -m pytest -q
	LAYERWISE_BACKEND=strict $(PY) -m pytest -q tests/ops

bench: $(VENV)/.stamp-test
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
