# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
# Where the pet-store runs: local, docker (needs a Docker engine) or kind.
TARGET ?= local
ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
BSTAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "lockstep needs Python 3.11 or newer with the venv module ($(PY) is not that)." >&2; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y python3-venv  (python3 --version must say 3.11+)" >&2; \
	  echo "  or point at one: make PY=/path/to/python3.11 $(MAKECMDGOALS)" >&2; exit 1; }
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
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -ra tests

lint: $(TSTAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(TSTAMP)
	$(BIN)/mypy src

$(BSTAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

# The benchmark suite against peer tools (installs entr/make, doit/watchmedo, chokidar-cli);
# `make bench ARGS=--quick` takes under 3 minutes. Writes docs/performance.md and docs/performance/.
bench: $(BSTAMP)
	$(BIN)/python bench/run_all.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
