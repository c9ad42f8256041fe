# voicekit set-up and entry points. Every target installs what it needs on first use:
# a virtualenv in .venv with the package (editable) and its dev extras, and the Node tools in node_modules.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.stamp-deps
NODE_STAMP := node_modules/.stamp-deps

.PHONY: setup test lint certify clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# All of the project's own tests (what CI runs), on both cores.
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2

lint: setup
	$(PY) -m ruff check .

# The main job: certify the embedded mock (writes reports/), after checking the contracts.
certify: setup
	$(VENV)/bin/voicekit validate
	$(VENV)/bin/voicekit certify --target mock

clean:
	rm -rf $(VENV) node_modules reports/*/ .pytest_cache
