# One command to run the demo, one to test. Both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres,demo]'
	touch $(STAMP)

## make run: the service on http://127.0.0.1:8080 plus the demo FHIR server on http://127.0.0.1:8913/fhir
run: install
	$(BIN)/anakinra-cds serve --host 127.0.0.1 --port 8080

## make test: the whole suite (starts the FHIR server and, if needed, PostgreSQL)
test: install
	bash scripts/test.sh

## make bench: the load benchmark (see benchmarks/README.md)
bench: install
	$(BIN)/python -m benchmarks.load

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
