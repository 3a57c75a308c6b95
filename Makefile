# One command each for a newcomer: `make test` and `make demo` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
# Reinstall whenever the project's dependencies change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

export SESSIONREC_DATA ?= $(abspath $(CURDIR)/../shared/data)

.PHONY: install system-deps test test-fast lint typecheck demo bench clean

# Services the tests start themselves (on 127.0.0.1): Redis for the session store, Chromium
# for the browser test; wrk drives the service benchmark. Debian packages; installed only
# where missing.
SYSTEM_PACKAGES := redis-server chromium chromium-driver wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "sessionrec needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	# torch first and pinned: an unpinned install pulls a multi-GB CUDA build.
	$(BIN)/pip install --disable-pip-version-check -q $(TORCH_PIN)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) system-deps

system-deps:
	@command -v redis-server >/dev/null && command -v chromium >/dev/null && \
		command -v wrk >/dev/null || { \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# Trains the transformer once (cached), then serves the web page on http://127.0.0.1:8000;
# e.g. `make demo DEMO_ARGS="--port 8080"`.
demo: install
	$(BIN)/sessionrec demo $(DEMO_ARGS)

bench: install
	$(BIN)/python benchmarks/bench_baselines.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
