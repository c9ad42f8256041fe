# voicekit set-up and entry points. Every target installs what it needs on first use:
# a virtualenv in .venv with the package (editable) and its dev extras, and the Node tools in node_modules.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.stamp-deps
NODE_STAMP := node_modules/.stamp-deps
SYSTEM_STAMP := $(VENV)/.stamp-debian
# Debian packages the tests use: the dashboard's browser test (chromium, chromium-driver) and the container test
# (docker.io, debootstrap for a base image made locally).
DEBIAN_PACKAGES := chromium chromium-driver docker.io debootstrap

.PHONY: setup test lint certify soak bench clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Installed when missing and we are root (as CI is); elsewhere the tests that need them say how to install them and
# are skipped (outside CI; under CI they fail).
$(SYSTEM_STAMP): $(PY_STAMP)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: missing Debian packages: $$missing (apt-get install them for the browser and container tests)"; fi
	touch $@

# All of the project's own tests (what CI runs), on both cores.
# One formatter style across the tree; the type checker strict on the kit, the mock's domain and the suite.
TYPED := voicekit mockserver/domain conformance

test: setup $(SYSTEM_STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy --strict $(TYPED)
	$(PY) -m pytest -n 2

lint: setup
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy --strict $(TYPED)

# The main job: certify the embedded mock (writes reports/), after checking the contracts.
certify: setup
	$(VENV)/bin/voicekit validate
	$(VENV)/bin/voicekit certify --target mock

# Flake check: certify the embedded mock RUNS times (default 10), each run's reports in reports/soak/N; prints
# one line per run and fails if any run fails.
RUNS ?= 10
soak: setup
	@mkdir -p reports/soak; failed=0; for i in $$(seq 1 $(RUNS)); do \
	  start=$$(date +%s); \
	  if $(VENV)/bin/voicekit certify --target mock --report-dir reports/soak/$$i > reports/soak/$$i.log 2>&1; \
	  then verdict=passed; else verdict=FAILED; failed=$$((failed + 1)); fi; \
	  echo "soak run $$i/$(RUNS): $$verdict in $$(( $$(date +%s) - start )) s ($$(grep -E '^=+ .*[0-9]+ (passed|failed).* in ' reports/soak/$$i.log | tail -1 | tr -d '=' | xargs))"; \
	done; echo "soak: $$(( $(RUNS) - failed )) of $(RUNS) runs passed"; test $$failed -eq 0

# Benchmarks (figures only): the mock against Stoplight Prism 5 on the same contract, fixed-rate latency, events.
# Installs Prism (npm, into .bench/) and wrk and h2load (Debian: wrk, nghttp2-client) on first use.
BENCH_STAMP := .bench/.stamp
$(BENCH_STAMP):
	mkdir -p .bench
	npm install --no-audit --no-fund --loglevel=error --prefix .bench @stoplight/prism-cli@5
	@if ! command -v wrk >/dev/null || ! command -v h2load >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client >/dev/null; fi
	touch $@

bench: setup $(BENCH_STAMP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules reports/*/ .pytest_cache .bench
