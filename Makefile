# Flex: `make run` serves the portal; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The test stack: PostgreSQL and Redis on this machine, Tansu started by the tests.
FLEX_TEST_DB_NAME ?= test_flex
FLEX_TEST_REDIS_DB ?= 9
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
	REDIS_URL=redis://127.0.0.1:6379/$(FLEX_TEST_REDIS_DB) \
	FLEX_TEST_DB_NAME=$(FLEX_TEST_DB_NAME) \
	FLEX_CELERY_QUEUE=flex-test-$(FLEX_TEST_DB_NAME) \
	SECRET_KEY=flex-tests-only DEBUG=true

.PHONY: serve run test pytest lint format services bench demo clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(BIN)/python -m flex.launcher

# Flex as deployed (README "Deploying"): gunicorn, Celery workers and beat on the configured
# PostgreSQL, Redis and Kafka; refuses to start with DEBUG on or a required variable unset.
serve: $(STAMP)
	$(BIN)/python -m flex.serve

# `make run` plus a GitHub Enterprise stand-in and sample policies: try sign-in and RBAC offline.
demo: $(STAMP)
	$(BIN)/python -m flex.demo

services:
	scripts/services.sh
	scripts/browser.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP) services lint
	$(TEST_ENV) $(BIN)/python -m pytest $(ARGS)

# The suite without lint or service checks: `make pytest ARGS="tests/rbac -x"`.
pytest: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest $(ARGS)

bench: $(STAMP) services
	$(TEST_ENV) $(BIN)/python -m bench.report

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
