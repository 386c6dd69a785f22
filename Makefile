# One command to run the demo, one to test. Both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo-reset test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres,demo]'
	touch $(STAMP)

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
	rm -rf $(VENV) var .pytest_cache .hypothesis
