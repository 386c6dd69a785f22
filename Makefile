# One command to run the demo, one to test. Both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lock run demo-reset test test-fast bench clean

## make install: .venv with the exact versions of requirements.lock (hash-checked), then the project itself
install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

## make lock: rewrite the lock files from pyproject.toml's ranges (uv pip compile, from PyPI). Versions already
## locked are kept when they still fit; make lock UPGRADE=1 moves every package to its newest allowed version.
##   requirements.lock             .[test,postgres,demo]: make install, CI (make test)
##   requirements-production.lock  .[postgres], the same versions: the Dockerfile
LOCK_TOOLS := .venv-lock
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
              $(if $(filter 1 yes true,$(UPGRADE)),--upgrade)
lock:
	test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install -q 'uv>=0.13,<0.14'; }
	$(LOCK_TOOLS)/bin/uv pip compile -q pyproject.toml --extra test --extra postgres --extra demo $(LOCK_FLAGS) \
	  -o requirements.lock
	$(LOCK_TOOLS)/bin/uv pip compile -q pyproject.toml --extra postgres -c requirements.lock $(LOCK_FLAGS) \
	  -o requirements-production.lock

## make run: the service on http://127.0.0.1:8080 (gunicorn) plus the demo FHIR server on http://127.0.0.1:8913/fhir
## make run RESET=1: first clear the demo's stored approvals, feedback and audit rows (make demo-reset)
run: install
ifneq ($(filter 1 yes true,$(RESET)),)
	$(BIN)/anakinra-cds demo reset
endif
	$(BIN)/anakinra-cds serve --host 127.0.0.1 --port 8080

## make demo-reset: the demo's next run shows the cards of a first run (refuses outside the demo profile)
demo-reset: install
	$(BIN)/anakinra-cds demo reset

## make test: the whole suite (starts the FHIR server; PostgreSQL must be reachable, see scripts/test.sh)
test: install
	bash scripts/test.sh

## make test-fast: the unit tests only (no FHIR server, no PostgreSQL, no program started or process forked;
## the property-based tests on fewer cases); tests/integration/ is `make test`'s. PYTEST_ARGS=... to narrow it.
test-fast: install
	PYTHONHASHSEED=0 ANAKINRA_TEST_FAST=1 $(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/integration \
	  -m "not integration and not fhirserver and not postgres and not browser" $(PYTEST_ARGS)

## make bench: the load benchmark (see benchmarks/README.md)
bench: install
	$(BIN)/python -m benchmarks.load

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) var .pytest_cache .hypothesis
