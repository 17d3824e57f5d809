# Two entry points: `make demo` (the main job) and `make test` (the suite).
# Both create .venv when missing and install what they need. torch is pinned first so the
# local CPU build is used where it exists; the package's own range then installs nothing more.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segwright demo

lint: $(STAMP)
	$(PY) -m ruff check segwright tests
	$(PY) -m ruff format --check segwright tests

test: $(STAMP) lint
	$(PY) -m pytest

# Bytecode is kept between runs (even where PYTHONDONTWRITEBYTECODE is set): recompiling the
# package and rewriting the tests' asserts costs ~12 s a run. __pycache__ is git-ignored.
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) work_dirs
