# Everything a fresh machine with Python 3.11 needs: `make serve` and `make test` install
# into .venv first (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install serve test eval
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

serve: install
	$(BIN)/newsdesk serve

# The test suite, then the eval gate against evals/baseline.json.
test: install
	$(BIN)/pytest
	$(BIN)/newsdesk eval

eval: install
	$(BIN)/newsdesk eval
