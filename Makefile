# Build, test and refresh the book.  Everything runs from the project's own
# virtual environment .venv, created from requirements.txt on first use.
#
#   make book          strict HTML build of the book  -> _build/html/index.html, with
#                      plain-Jupyter notebooks, source archive and wheel in _build/html/bundle/
#   make test          package tests, notebook checks (nbval), strict book build, browser test
#   make test-browser  headless Chromium opens every built page offline (after make book)
#   make test-plain-notebooks  run each plain notebook of the site alone, in an empty
#                      folder, in a fresh venv with only the site's wheel (not in make test)
#   make pdf           the whole book through XeLaTeX -> _build/latex/book.pdf, linked from the site
#   make pdf-check     say what make pdf lacks (TeX Live programs, packages, fonts)
#   make pdf-deps      apt-get install what make pdf needs (as root), or print the apt line
#   make notebooks     re-execute every chapter in place (fresh kernel, counts 1..N)
#   make bench         run every benchmarks/bench_*.py
#   make venv          only (re)create / update .venv
#   make clean         remove _build
#
# Plain PyPI serves torch's CUDA build on Linux (several GB); for the CPU build, e.g.
#   make venv TORCH_INDEX=https://download.pytorch.org/whl/cpu

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# An extra package index for torch (empty: the indexes pip is configured with).
TORCH_INDEX ?=
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
# numba compiles the fused kernels once per machine into this ignored folder (never into src/)
export NUMBA_CACHE_DIR      ?= $(CURDIR)/.venv/numba-cache
# Kernels and kernelspecs come from .venv, never from ~/.local.
export JUPYTER_PREFER_ENV_PATH := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

NBVAL_FLAGS := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-current-env --nbval-cell-timeout=600
BOOK_FLAGS  := -W -n --keep-going

# The browser test's browser and driver (Debian's by default; override for another
# Chromium, e.g. CHROMIUM=google-chrome on a GitHub runner).
export CHROMIUM     ?= chromium
export CHROMEDRIVER ?= chromedriver
# Debian packages of the browser test and of the PDF (one apt line each; README).
BROWSER_APT := chromium chromium-driver
PDF_APT     := texlive-xetex texlive-latex-extra texlive-latex-recommended \
               texlive-fonts-recommended fonts-freefont-otf latexmk

.PHONY: help venv book book-build book-html test test-package test-notebooks check-notebooks \
        test-browser browser-deps test-plain-notebooks pdf pdf-check pdf-deps notebooks bench clean

help:
	@sed -n '1,19p' Makefile

# ---------------------------------------------------------------------------
# The environment: a file target, rebuilt when the pins or the package change.
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  echo "creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "installing requirements.txt into $(VENV) (log: $(VENV)/pip-install.log)"
	@$(BIN)/python -m pip install -r requirements.txt \
	  $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) > $(VENV)/pip-install.log 2>&1 \
	  || { grep -v 'is ignored: it is neither a file nor a directory' $(VENV)/pip-install.log | tail -n 40; exit 1; }
	@touch $@

# ---------------------------------------------------------------------------
# The book: renders the committed (executed, tested) notebooks; executes nothing.
book: $(STAMP)
	rm -rf _build
	$(MAKE) --no-print-directory book-build

# 1. the jupyter builder (sphinx-tojupyter) writes every page as a notebook with the
#    glued numbers filled in; scripts/plain_notebooks.py finishes the chapters so that
#    they run in any Jupyter with only the wheel (_build/notebooks);
# 2. the HTML build, which also puts the notebooks, `git archive` of HEAD, the wheel,
#    the citation files and the PDF (when make pdf built one) into _build/html/bundle/.
book-build: $(STAMP)
	$(BIN)/jupyter-book build . --builder custom --custom-builder jupyter $(BOOK_FLAGS)
	rm -rf _build/notebooks
	$(BIN)/python scripts/plain_notebooks.py _build/jupyter _build/notebooks \
	  --commit "$$(git rev-parse HEAD 2>/dev/null || cat _ext/COMMIT)"
	$(MAKE) --no-print-directory book-html

book-html: $(STAMP)
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
	$(MAKE) --no-print-directory test-browser
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

# The real-browser test of the built site: Debian's chromium + chromium-driver,
# driven by Selenium, every page opened from disk with the network off
# (tests/browser/test_site.py; `pytest tests/` does not collect it).
test-browser: $(STAMP) browser-deps
	@test -f _build/html/index.html || { echo "test-browser: no built site; run make book first"; exit 1; }
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser/test_site.py

browser-deps:
	@if ! command -v $(CHROMIUM) >/dev/null || ! command -v $(CHROMEDRIVER) >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing the browser test's Debian packages: $(BROWSER_APT)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_APT) >/dev/null; \
	  else \
	    echo "test-browser needs Chromium and its driver: sudo apt-get install $(BROWSER_APT)"; exit 1; \
	  fi; \
	fi

# What a reader does with a downloaded chapter: a fresh venv with only the site's
# wheel (torch at the pin of requirements.txt; TORCH_INDEX as for make venv) and a
# kernel; each chapter alone in an empty folder (chapter 6 next to the source archive).
PLAIN_VENV := _build/plain-venv
test-plain-notebooks:
	@test -d _build/html/bundle/notebooks || { echo "test-plain-notebooks: run make book first"; exit 1; }
	rm -rf $(PLAIN_VENV)
	$(PYTHON) -m venv $(PLAIN_VENV)
	$(PLAIN_VENV)/bin/python -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
	  "$$(grep -E '^torch==' requirements.txt)" _build/html/bundle/lojasgd-*.whl ipykernel nbclient \
	  > $(PLAIN_VENV).log 2>&1 || { tail -n 20 $(PLAIN_VENV).log; exit 1; }
	$(PLAIN_VENV)/bin/python scripts/run_plain_notebooks.py _build/html/bundle

# ---------------------------------------------------------------------------
# The PDF: Sphinx's LaTeX (settings in _ext/pdf.py, macros from _ext/macros.py),
# then latexmk with XeLaTeX; the site is rebuilt (HTML only) so that it links it.
pdf: $(STAMP) pdf-check
	$(BIN)/jupyter-book build . --builder pdflatex $(BOOK_FLAGS)
	@test -f _build/latex/book.pdf
	@if [ -f _build/html/index.html ]; then $(MAKE) --no-print-directory book-html; fi
	@echo "PDF built: $(CURDIR)/_build/latex/book.pdf"

# Says what make pdf lacks (exit status 1) or nothing.
pdf-check:
	@missing=""; for t in xelatex latexmk kpsewhich; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	for f in tabulary.sty fncychap.sty unicode-math.sty ucharclasses.sty pgfplots.sty adjustbox.sty FreeSerif.otf; do \
	  command -v kpsewhich >/dev/null && [ -n "$$(kpsewhich $$f 2>/dev/null)" ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make pdf: missing$$missing"; \
	  echo "install them with: sudo apt-get install $(PDF_APT)   (or: make pdf-deps, as root)"; exit 1; \
	fi

pdf-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing the PDF's Debian packages: $(PDF_APT)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PDF_APT) >/dev/null; \
	else \
	  echo "make pdf needs: sudo apt-get install $(PDF_APT)"; exit 1; \
	fi

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
