# nascli — `make demo` and `make test` each set everything up first on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NAS := $(VENV)/bin/nas
STAMP := $(VENV)/.installed
RUNS ?= runs
SHARED ?= ../shared/data
TORCH_PINS := "torch==2.14.1" "torchvision==0.29.1"

.PHONY: install demo test lint bench clean rlnas-nb201 rlnas-nb201-real

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(TORCH_PINS)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,bench]"
	@touch $(STAMP)

demo: install
	@bash scripts/demo.sh "$(NAS)" "$(RUNS)/demo"

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nascli tests benchmarks

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(RUNS) .pytest_cache .ruff_cache
