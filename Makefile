# ecgviewer: `make run` opens the viewer on a bundled sample, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Torch build: the CPU wheel by default. For CUDA, e.g.
#   make run TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH_VERSION ?= 2.13.0
TORCH_INDEX   ?=
TORCH_SPEC    := torch==$(TORCH_VERSION)
SAMPLE ?= resources/samples/ptbxl_00001_hr.hea
export QT_API := pyside6

.PHONY: run test lint format bench clean venv

$(VENV)/.installed-base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, so `pip install -e .` finds it and does not pull the CUDA build
	$(PIP) install -q $(TORCH_SPEC) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install -q -e . "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base
	$(PIP) install -q -e ".[test]" "$(TORCH_SPEC)"
	touch $@

venv: $(VENV)/.installed-base

run: $(VENV)/.installed-base
	$(VENV)/bin/ecgviewer $(or $(FILE),$(SAMPLE))

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check ecgviewer trainer tests benchmarks
	$(VENV)/bin/ruff format --check ecgviewer trainer tests benchmarks
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -p no:cacheprovider tests

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check ecgviewer trainer tests benchmarks
	$(VENV)/bin/ruff format --check ecgviewer trainer tests benchmarks

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix ecgviewer trainer tests benchmarks
	$(VENV)/bin/ruff format ecgviewer trainer tests benchmarks

bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/bench_open.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
