# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
# Where the pet-store runs: local, docker (needs a Docker engine) or kind.
TARGET ?= local
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(TSTAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/lockstep up -f examples/petstore/Tiltfile -- --target=$(TARGET)

test: $(TSTAMP)
	.ci/ensure-chromium
	.ci/install-docker
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/python -m pytest -q -ra tests

lint: $(TSTAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(TSTAMP)
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
