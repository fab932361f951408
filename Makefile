# ppo_suite: `make run` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel here; on a GPU machine install the CUDA build of torch into .venv first (see README).
TORCH_SPEC ?= torch==2.13.0
EXPERIMENT ?= ads
ARGS ?=

.PHONY: help install run test test-slow bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv (if missing) and install the project with its test tools

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[test,serve]"
	touch $@

run: install ## python -m ppo_suite +experiment=$(EXPERIMENT) $(ARGS)
	$(BIN)/python -m ppo_suite +experiment=$(EXPERIMENT) $(ARGS)

test: install ## the fast test suite (what CI runs)
	$(BIN)/python -m pytest -q

test-slow: install ## the slow end-to-end tests too
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: install ## PPO iteration time and memory against the floor, on tiny and llama_100m (experiments/bench/)
	$(BIN)/python experiments/bench/bench.py $(ARGS)

clean: ## remove run outputs (not the model cache)
	rm -rf outputs multirun
