# etl-core: every target calls scripts/ so the steps also work without make.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help install run test lint format bench bench-quick profile docs clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## create .venv, install etl-core with its dev tools and the Ray extra, write .env with fresh secrets if none exists
	@PYTHON=$(PYTHON) bash scripts/install.sh

run: install ## set up, then start the server on embedded SQLite and print how to get a token
	@bash scripts/run.sh

test: install ## set up, then run the whole test suite
	@bash scripts/test.sh

lint: install ## ruff (lint and format check) and mypy strict over src
	@$(BIN)/ruff check src tests scripts
	@$(BIN)/ruff format --check src tests scripts
	@$(BIN)/mypy

format: install ## apply ruff's formatting and safe fixes
	@$(BIN)/ruff check --fix src tests scripts
	@$(BIN)/ruff format src tests scripts

bench: install ## measure speed and memory against hand-written baselines (ratios printed; see docs/performance.md)
	@$(BIN)/python scripts/bench.py $(BENCH_ARGS)

bench-quick: install ## a 100k-row pass of the benchmark
	@$(BIN)/python scripts/bench.py --quick $(BENCH_ARGS)

profile: install ## where one workload's time goes (py-spy): make profile WORKLOAD=csv->filter->csv
	@$(BIN)/python scripts/profile.py "$(or $(WORKLOAD),csv->filter->csv)" $(PROFILE_ARGS)

docs: install ## regenerate docs/components/*.md from the component registry
	@$(BIN)/python scripts/gen_component_docs.py

clean: ## remove caches and benchmark data (keeps .venv, .env and data/)
	@rm -rf .pytest_cache .mypy_cache .ruff_cache .bench build dist src/*.egg-info
