# taskstream developer commands. `make` (or `make help`) lists them.
# Command-line variables: `make test ARGS="-k chat -x"`, `make up ARGS="--port 9000"`,
# `make bench BENCHES=bench/api.py`.

.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
MAKEFLAGS += --no-print-directory

VENV := .venv
# Marks that .venv matches uv.lock; `make install` (or a newer lock) redoes it.
SYNCED := $(VENV)/.taskstream-synced
# Benchmark entry scripts, run in order by `make bench`: add new ones here.
BENCHES := bench/api.py bench/events.py bench/scale.py bench/distributed.py bench/chat.py bench/web.py
# Extra arguments for pytest (`make test`) or `taskstream up` (`make up`).
ARGS :=
# Mutation testing (`make mutation`): the modules whose mutants are run, one module at a
# time, and how many mutants run side by side. The files mutated and the tests run
# (tests/unit only) are set in pyproject.toml, [tool.mutmut].
# `make mutation MODULES=taskstream.app.queries MUTATION_JOBS=2`
MODULES := taskstream.domain.errors taskstream.domain.users taskstream.domain.text \
	taskstream.domain.tasks taskstream.domain.recurrence taskstream.app.queries \
	taskstream.app.services.reminders
MUTATION_JOBS := 1

.PHONY: web-client help install up dist-up dist-down test lint format typecheck bench mutation pg-start pg-stop clean

help: ## List the targets
	@printf 'Usage: make TARGET [ARGS="..."]\n\nTargets:\n'
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

install: ## Install uv (cached) and create .venv from uv.lock
	@bash scripts/install.sh
	@touch $(SYNCED)

$(SYNCED): pyproject.toml uv.lock
	@bash scripts/install.sh
	@touch $@

up: ## Run taskstream on http://127.0.0.1:8000 (embedded: one process, SQLite)
	@bash scripts/up.sh $(ARGS)

dist-up: $(SYNCED) ## Run the distributed shape on http://127.0.0.1:8000 (services, Dapr, Kafka, PostgreSQL)
	@bash scripts/distributed.sh up

dist-down: ## Stop the distributed shape
	@bash scripts/distributed.sh down

test: ## Lint, type-check and run the tests against a throw-away PostgreSQL (what CI runs)
	@bash scripts/test.sh $(ARGS)

lint: $(SYNCED) ## Check the code with ruff (lint and format, no changes)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Formats even when unfixable lint errors remain, then fails.
format: $(SYNCED) ## Fix what ruff can fix, then format the code
	$(VENV)/bin/ruff check --fix . || status=$$?; $(VENV)/bin/ruff format .; exit $${status:-0}

typecheck: $(SYNCED) ## Type-check src with mypy (strict)
	$(VENV)/bin/mypy src

bench: $(SYNCED) ## Run the benchmarks and print their figures
	@for bench in $(BENCHES); do \
		printf '==> %s\n' "$$bench" >&2; \
		$(VENV)/bin/python "$$bench"; \
	done

# Runs in a copy under mutants/ (git-ignored); TZ is not UTC, so code that reads the
# machine's zone instead of the task's is caught. Afterwards `mutmut results` lists the
# survivors and `mutmut show NAME` shows one. Slow: not part of `make test`.
mutation: $(SYNCED) ## Mutation-test domain/, app/queries.py and the reminders service against the unit tests
	@for module in $(MODULES); do \
		printf '==> mutants of %s\n' "$$module" >&2; \
		TZ=Asia/Tokyo $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) "$$module.*"; \
	done
	@$(VENV)/bin/mutmut results

web-client: $(SYNCED) ## Regenerate the web app's typed API client after an API change
	@bash scripts/web.sh generate

pg-start: ## Start the throw-away PostgreSQL used by the tests
	@bash scripts/postgres.sh start

pg-stop: ## Stop the throw-away PostgreSQL
	@bash scripts/postgres.sh stop

clean: ## Remove caches and build output (keeps .venv and local data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache dist build
	find . \( -path ./.venv -o -path ./.git -o -name node_modules \) -prune \
		-o -type d -name __pycache__ -prune -exec rm -rf {} +
