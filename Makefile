# One command each for a newcomer: `make test` and `make demo` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
# The LLM tests' real OpenAI-compatible server. PyPI has no binary wheel of it, so it is
# built once from source and kept in WHEELHOUSE (a fresh machine spends 12-25 minutes
# here once). Portable: a native build uses AVX-512/AMX where the CPU claims them, and on
# some virtual machines here that dies with SIGILL on the first completion.
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DLLAVA_BUILD=OFF
WHEELHOUSE ?= $(HOME)/.cache/sessionrec/wheels
# Reinstall whenever the project's dependencies change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

export SESSIONREC_DATA ?= $(abspath $(CURDIR)/../shared/data)

.PHONY: install system-deps test test-fast lint typecheck audit fuzz demo bench clean

# Services the tests start themselves (on 127.0.0.1): Redis for the session store, Chromium
# for the browser test; wrk drives the service benchmark; Noto CJK so the web page's Chinese
# text renders in that browser (no tofu boxes); nginx fronts several processes
# (deploy/run-behind-nginx.sh and its test). Debian packages; installed only where missing
# (Debian's nginx starts no service of its own where policy-rc.d forbids it, as in CI).
SYSTEM_PACKAGES := redis-server chromium chromium-driver wrk fonts-noto-cjk nginx
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "sessionrec needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	# torch first and pinned: an unpinned install pulls a multi-GB CUDA build.
	$(BIN)/pip install --disable-pip-version-check -q $(TORCH_PIN)
	ls $(WHEELHOUSE)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/pip wheel --disable-pip-version-check -q --no-deps --no-cache-dir \
		-w $(WHEELHOUSE) '$(LLAMA_CPP)'
	$(BIN)/pip install --disable-pip-version-check -q --find-links $(WHEELHOUSE) '$(LLAMA_CPP)'
	$(BIN)/pip install --disable-pip-version-check -q --find-links $(WHEELHOUSE) -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) system-deps

system-deps:
	@command -v redis-server >/dev/null && command -v chromium >/dev/null && \
		command -v wrk >/dev/null && fc-list 2>/dev/null | grep -q "Noto Sans CJK" && \
		test -x /usr/sbin/nginx || { \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: install
	$(BIN)/mypy

# Known vulnerabilities in the installed packages fail it; where no vulnerability service
# can be reached it prints "SKIPPED: vulnerability service unreachable" and passes.
audit: install
	$(BIN)/python tools/audit_deps.py

test: install lint typecheck audit
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# Schemathesis against the running service, every phase (`make test` runs a short one):
# >= 2,000 requests, none may break the OpenAPI schema or end in a 5xx; prints the count.
# More with `make fuzz FUZZ_EXAMPLES=500` (examples per route), elsewhere with FUZZ_SEED=N.
FUZZ_EXAMPLES ?= 250
FUZZ_SEED ?= 14
fuzz: install
	SESSIONREC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SESSIONREC_FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/python -m pytest -m slow tests/service/test_openapi_fuzz.py

# Trains the transformer once (cached), then serves the web page on http://127.0.0.1:8000;
# e.g. `make demo DEMO_ARGS="--port 8080"`.
demo: install
	$(BIN)/sessionrec demo $(DEMO_ARGS)

bench: install
	$(BIN)/python benchmarks/bench_baselines.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
