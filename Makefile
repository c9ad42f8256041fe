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

# All of the project's own tests (what CI runs).
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .

# The main job on the embedded default.
certify: setup
	$(VENV)/bin/voicekit validate
	$(VENV)/bin/voicekit coverage

clean:
	rm -rf $(VENV) node_modules reports/*/ .pytest_cache
