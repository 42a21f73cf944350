# Build, test and refresh the book.  Everything runs from the project's own
# virtual environment .venv, created from requirements.txt on first use.
#
#   make book        strict HTML build of the book  -> _build/html/index.html
#   make test        package tests, notebook checks (nbval), strict book build
#   make notebooks   re-execute every chapter in place (fresh kernel, counts 1..N)
#   make bench       run every benchmarks/bench_*.py
#   make venv        only (re)create / update .venv
#   make clean       remove _build

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CHAPTERS := $(sort $(wildcard chapters/*.ipynb))
BENCHES  := $(sort $(wildcard benchmarks/bench_*.py))

# Reproducible, single-threaded numerics by default (override on the command
# line, e.g. `make bench OMP_NUM_THREADS=4`).  Notebook kernels inherit these.
export OMP_NUM_THREADS      ?= 1
export MKL_NUM_THREADS      ?= $(OMP_NUM_THREADS)
export OPENBLAS_NUM_THREADS ?= $(OMP_NUM_THREADS)
export PYTHONHASHSEED       ?= 0
# Kernels and kernelspecs come from .venv, never from ~/.local.
export JUPYTER_PREFER_ENV_PATH := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

NBVAL_FLAGS := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-current-env --nbval-cell-timeout=600
BOOK_FLAGS  := -W -n --keep-going

.PHONY: help venv book book-build test test-package test-notebooks check-notebooks \
        notebooks bench clean

help:
	@sed -n '1,11p' Makefile

# ---------------------------------------------------------------------------
# The environment: a file target, rebuilt when the pins or the package change.
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  echo "creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "installing requirements.txt into $(VENV) (log: $(VENV)/pip-install.log)"
	@$(BIN)/python -m pip install -r requirements.txt > $(VENV)/pip-install.log 2>&1 \
	  || { grep -v 'is ignored: it is neither a file nor a directory' $(VENV)/pip-install.log | tail -n 40; exit 1; }
	@touch $@

# ---------------------------------------------------------------------------
# The book: renders the committed (executed, tested) notebooks; executes nothing.
book: $(STAMP)
	rm -rf _build
	$(MAKE) --no-print-directory book-build

book-build: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@test -f _build/html/index.html
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# ---------------------------------------------------------------------------
# Tests.  Any failure stops make with a non-zero exit status.
test: $(STAMP)
	$(MAKE) --no-print-directory test-package
	$(MAKE) --no-print-directory check-notebooks
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory book
	@echo "make test: all checks passed"

# Package tests only; notebooks are not collected here.  pytest's exit code 5
# ("no tests collected") is non-zero and therefore a failure.
test-package: $(STAMP)
	$(BIN)/python -m pytest tests/

# Cheap structural checks: valid JSON, executed top to bottom (counts 1..N),
# no error outputs, no matplotlib.use().
check-notebooks: $(STAMP)
	$(BIN)/python .ci/check_notebooks.py $(CHAPTERS)

# The execution gate: every chapter runs once in a fresh kernel and its outputs
# must match the committed ones after sanitising (tests/nbval_sanitize.cfg).
test-notebooks: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL_FLAGS) $(CHAPTERS)

# ---------------------------------------------------------------------------
# Refresh committed outputs: each chapter in a fresh kernel, in place.
notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.kernel_name=python3 \
	  --ExecutePreprocessor.record_timing=False \
	  --log-level=WARN $(CHAPTERS)
	$(BIN)/python .ci/check_notebooks.py $(CHAPTERS)

# ---------------------------------------------------------------------------
bench: $(STAMP)
	@if [ -z "$(BENCHES)" ]; then echo "no benchmarks/bench_*.py found"; exit 1; fi
	@for b in $(BENCHES); do \
	  echo "== $$b"; \
	  $(BIN)/python "$$b"; \
	done

clean:
	rm -rf _build
