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

test: $(VENV)/.stamp-test
	$(PY) -m pytest -q

bench: $(VENV)/.stamp-test
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
