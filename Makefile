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

.PHONY: run test lint format bench clean venv checkpoints check-system dist

$(VENV)/.installed-base: pyproject.toml
	@echo "installing ecgviewer into $(VENV) with PySide6 and torch $(TORCH_VERSION) (the first time: about a minute) ..."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, so `pip install -e .` finds it and does not pull the CUDA build
	$(PIP) install -q $(TORCH_SPEC) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install -q -e . "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base
	$(PIP) install -q -e ".[test,distributed]" "$(TORCH_SPEC)"
	touch $@

venv: $(VENV)/.installed-base

# Qt's X11 platform plugin needs system libraries (Debian/Ubuntu: libxcb-icccm4, libxcb-keysyms1,
# libxcb-cursor0 ...): ldd on the installed plugin finds the missing ones; as root they are installed
# with apt-get, otherwise the exact command is printed and `make run` stops. Skipped when
# QT_QPA_PLATFORM names another platform (offscreen, wayland) or ECGVIEWER_SKIP_SYSTEM_CHECK=1.
check-system: $(VENV)/.installed-base
	$(PY) -m ecgviewer._system_check

run: $(VENV)/.installed-base check-system
	$(VENV)/bin/ecgviewer $(or $(FILE),$(SAMPLE))

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check ecgviewer trainer tests benchmarks setup.py
	$(VENV)/bin/ruff format --check ecgviewer trainer tests benchmarks setup.py
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -p no:cacheprovider tests

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check ecgviewer trainer tests benchmarks setup.py
	$(VENV)/bin/ruff format --check ecgviewer trainer tests benchmarks setup.py
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix ecgviewer trainer tests benchmarks setup.py
	$(VENV)/bin/ruff format ecgviewer trainer tests benchmarks setup.py

# Wheel and sdist in dist/: the wheel carries resources/ (checkpoints, sample) as package data
# (setup.py copies it to ecgviewer/_resources); `pip install dist/ecgviewer-*.whl` or
# `pipx install dist/ecgviewer-*.whl` then works without the checkout. Needs no torch.
dist:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q build
	rm -rf dist build
	$(PY) -m build --outdir dist .
	@ls -l dist

bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/bench_open.py

# Remake the bundled interval checkpoints with the trainer (docs/accuracy.md): synthetic
# pretraining -> PTB-XL (teacher labels) -> LUDB experts, then the accuracy tables.
# CPU: about an hour on 2 cores; DEVICE=cuda for a GPU. SHARED is the shared data folder.
SHARED ?= ../shared/data
RUNS   ?= runs
DEVICE ?= auto
TRAIN  := $(PY) -m trainer
FT_PTBXL ?= --epochs 20 --batch-size 32 --lr 1e-3 --freeze-epochs 2 --patience 6
FT_LUDB  ?= --epochs 60 --batch-size 16 --lr 1e-3 --patience 15
STATEMENTS_DATA ?= --data ptbxl100:$(SHARED)/ptb-xl-100hz --val-folds 9 --test-folds --val-holdout 0.5 \
  --cache $(RUNS)/cache
STATEMENTS   ?= $(STATEMENTS_DATA) --classes superclasses,subclasses,rhythm --min-positives 20 --batch-size 64 \
  --lr 2e-3 --seed 1 --device $(DEVICE)
CLS      ?= --data ptbxl:$(SHARED)/ptb-xl --val-folds 7 --test-folds 8 --batch-size 32 --lr 2e-3 --seed 1 \
            --device $(DEVICE)
checkpoints: $(VENV)/.installed-test
	$(TRAIN) synth $(RUNS)/synth --n 2000 --seed 1 --shard-size 250
	$(TRAIN) synth $(RUNS)/synth2 --n 8000 --seed 2 --shard-size 500
	$(TRAIN) prepare --data ptbxl:$(SHARED)/ptb-xl --teacher classical --val-folds 8 --out $(RUNS)/ptbxl_classical.npz
	for m in resnet1d vit1d; do \
	  lr=$$( [ $$m = vit1d ] && echo 1e-3 || echo 2e-3 ); \
	  $(TRAIN) pretrain --data synthetic:$(RUNS)/synth --data synthetic:$(RUNS)/synth2 --model $$m \
	    --out $(RUNS)/$$m-pre --epochs 6 --patience 3 --batch-size 32 --lr $$lr --seed 2 --device $(DEVICE) && \
	  $(TRAIN) finetune --init $(RUNS)/$$m-pre/best.json --data npz:$(RUNS)/ptbxl_classical.npz \
	    --out $(RUNS)/$$m-ptbxl $(FT_PTBXL) --seed 1 --device $(DEVICE) && \
	  $(TRAIN) finetune --init $(RUNS)/$$m-ptbxl/best.json --data ludb:$(SHARED)/ludb \
	    --out $(RUNS)/$$m-ludb $(FT_LUDB) --seed 1 --device $(DEVICE) && \
	  $(TRAIN) export $(RUNS)/$$m-ludb --name $$m || exit 1; \
	done
	$(TRAIN) evaluate resnet1d vit1d --data ludb:$(SHARED)/ludb --out docs/accuracy/ludb-test
	$(TRAIN) evaluate resnet1d vit1d --data vendor:$(SHARED)/formats --out docs/accuracy/vendor
	# classifiers (docs/accuracy.md, Diagnostic classification): shared PTB-XL, folds 1-6 / 7 / 8
	$(TRAIN) classify $(CLS) --model resnet18_1d --epochs 20 --patience 8 --out $(RUNS)/cls-resnet18 \
	  --model-config '{"stem_channels": 32, "stage_channels": [32, 64, 96, 128]}'
	$(TRAIN) classify $(CLS) --model crnn --epochs 60 --patience 15 --out $(RUNS)/cls-crnn
	$(TRAIN) classify $(CLS) --init resources/checkpoints/resnet1d --freeze-epochs 3 --epochs 60 --patience 15 \
	  --out $(RUNS)/cls-resnet1d-transfer
	$(TRAIN) classify-evaluate $(RUNS)/cls-resnet18/best.json $(RUNS)/cls-crnn/best.json \
	  $(RUNS)/cls-resnet1d-transfer/best.json --data ptbxl:$(SHARED)/ptb-xl --val-folds 7 --test-folds 8 \
	  --out docs/accuracy/ptbxl-classify
	$(TRAIN) export $(RUNS)/cls-resnet18 --name ptbxl_resnet18 --test-results docs/accuracy/ptbxl-classify/results.json
	$(TRAIN) export $(RUNS)/cls-crnn --name ptbxl_crnn --test-results docs/accuracy/ptbxl-classify/results.json
	# statement classifiers at benchmark scale (docs/accuracy.md): PTB-XL 100 Hz, folds 1-8 train,
	# fold 9 split by patient into a selection half (val) and a report half (test)
	$(TRAIN) classify $(STATEMENTS) --epochs 15 --patience 5 --model resnet1d --out $(RUNS)/cls100-resnet \
	  --model-config '{"stem_channels": 32, "stem_kernel": 7, "stage_channels": [48, 64, 96, 128], "blocks_per_stage": 2, "kernel_size": 5, "dropout": 0.2}'
	$(TRAIN) classify $(STATEMENTS) --epochs 12 --patience 4 --model crnn --out $(RUNS)/cls100-crnn \
	  --model-config '{"pool": 2, "conv_channels": [32, 48, 64, 96], "rnn_hidden": 64}'
	$(TRAIN) classify $(STATEMENTS) --epochs 15 --patience 5 --init resources/checkpoints/resnet1d --freeze-epochs 2 \
	  --out $(RUNS)/cls100-transfer
	$(TRAIN) classify $(STATEMENTS) --epochs 15 --patience 5 --model resnet1d --out $(RUNS)/cls100-scratch \
	  --model-config '{"stem_channels": 32, "stem_kernel": 8, "stage_channels": [32, 48, 64, 64], "blocks_per_stage": 2, "kernel_size": 3, "dropout": 0.1}'
	$(TRAIN) classify-evaluate $(RUNS)/cls100-resnet/best.json $(RUNS)/cls100-crnn/best.json \
	  $(RUNS)/cls100-transfer/best.json $(RUNS)/cls100-scratch/best.json ptbxl_crnn ptbxl_resnet18 $(STATEMENTS_DATA) \
	  --split test --latency --reliability docs/images/reliability-statements.png --out docs/accuracy/ptbxl100-heldout
	$(TRAIN) classify-evaluate $(RUNS)/cls100-resnet/best.json $(RUNS)/cls100-crnn/best.json \
	  $(RUNS)/cls100-transfer/best.json $(RUNS)/cls100-scratch/best.json ptbxl_crnn ptbxl_resnet18 $(STATEMENTS_DATA) \
	  --split val+test --out docs/accuracy/ptbxl100-fold9
	$(TRAIN) export $(RUNS)/cls100-crnn --name ptbxl100_crnn --label "PTB-XL 100 Hz CRNN (26 statements)" \
	  --test-results docs/accuracy/ptbxl100-heldout/results.json

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
