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

.PHONY: install demo test test-all lint bench clean rlnas-nb201 rlnas-nb201-real oi-nb201 oi-darts

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(TORCH_PINS)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,bench]"
	@touch $(STAMP)

demo: install
	@bash scripts/demo.sh "$(NAS)" "$(RUNS)/demo"

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nascli tests benchmarks scripts

bench: install
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps "xautodl==1.0.0" \
		|| echo "xautodl could not be installed: bench_supernet_throughput.py will skip its comparison"
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(RUNS) .pytest_cache .ruff_cache

# ---- paper pipelines ---------------------------------------------------------------------------------------
# RLNAS on NAS-Bench-201 with the reference settings (250 epochs). DATASET: cifar10 | cifar100 | imagenet16-120;
# DATA_ROOT: the folder holding the official files (cifar-10-batches-py/, cifar-100-python/, ImageNet16/).
# EPOCHS=N (optional) trains only the first N epochs of the 250-epoch schedule (the LR curve is the full run's).
DATASET ?= cifar10
DATA_ROOT ?= data
rlnas-nb201: install
	bash scripts/rlnas_nb201.sh $(NAS) recipes/rlnas/nb201-$(DATASET).yaml $(RUNS)/rlnas-nb201-$(DATASET) \
		$(DATASET) --data-root $(DATA_ROOT) \
		$(if $(filter command line environment,$(origin EPOCHS)),--stop-after $(EPOCHS))
	$(PY) scripts/summary.py $(RUNS)/rlnas-nb201-$(DATASET)

# The same chain on the 25,000 real CIFAR-10 images the reference supernet trains on (../shared/data, class
# folders named by official index), for the first EPOCHS epochs of the 250-epoch schedule (the LR curve is
# the full run's), then the angle of all 15,625 architectures against NB201 CIFAR-10 test accuracy.
EPOCHS ?= 10
rlnas-nb201-real: install
	bash scripts/rlnas_nb201.sh $(NAS) recipes/rlnas/nb201-cifar10.yaml $(RUNS)/rlnas-nb201-real cifar10 \
		--dataset imagefolder --data-root $(SHARED)/cifar10-search-train --stop-after $(EPOCHS) \
		--set data.train_split=null --set data.label_total=50000 --set data.normalization=cifar10 \
		--set data.crop_pad=4
	$(PY) scripts/summary.py $(RUNS)/rlnas-nb201-real

# Cell redundancy analysis (Wan et al., ICLR 2022). oi-nb201: operation importance of the top and bottom 5% of
# NAS-Bench-201 on its three datasets, exact from the shipped table, with the frequent important motifs of CIFAR-10.
oi-nb201: install
	$(NAS) analyze importance --out $(RUNS)/oi-nb201 --overwrite
	$(NAS) analyze motifs --importance $(RUNS)/oi-nb201 --dataset cifar10 --out $(RUNS)/oi-nb201-motifs --overwrite

# oi-darts: the importance of one DARTS cell of BPE's 100 ground-truth cells (OI_ARCH, default Arch_70, the best)
# by the CPU-sized trained-acc on the 25,000 real search-train images: the cell and its 60 neighbours on OI_NPROC
# torchrun processes, the cell again with a second seed for the noise (≈ 12 min on 2 quiet cores).
OI_ARCH ?= Arch_70
OI_CELL ?= normal
OI_NPROC ?= 2
oi-darts: install
	bash scripts/oi_darts.sh $(NAS) recipes/bpe/darts-cpu-score.yaml $(RUNS)/oi-darts-$(OI_ARCH) \
		$(SHARED)/bpe/ground_truth_100.csv $(OI_ARCH) $(SHARED)/cifar10-search-train $(OI_NPROC) $(OI_CELL)
