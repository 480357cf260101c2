# Everything a fresh machine with Python 3.11 needs: `make serve` and `make test` install
# into .venv first (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-test browser serve test check eval gate
install: $(VENV)/.installed

# The service itself: no test tools, no Ray.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

# Tests add the dev tools and the optional Ray extra (its test runs a local ray.init).
install-test: $(VENV)/.installed-test
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev,ray]"
	touch $@

# The reading page's tests drive Debian's Chromium (browser builds cannot be downloaded).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed and cannot be (not root?): the browser tests will be skipped"

# `make serve PORT=8001 HOST=0.0.0.0` (default: NEWSDESK_PORT / NEWSDESK_HOST, else 127.0.0.1:8000).
serve: install
	$(BIN)/newsdesk serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# The lint and type gate: ruff (pyflakes, bugbear with B905, complexity over 10) and mypy on
# service/ (settings in pyproject.toml).
check: install-test
	$(BIN)/ruff check service tests
	$(BIN)/mypy

# Third-party multi-hop news questions (MultiHop-RAG's development half), where they are: CI has
# ../shared beside the checkout; elsewhere the step says it is skipped.
MULTIHOP ?= ../shared/benchmarks/multihop-rag

# The lint and type gate, the test suite, then the eval gates against evals/baseline.json and
# evals/baseline-multihop.json.
test: install-test browser check
	$(BIN)/pytest
	$(BIN)/newsdesk eval
	@if [ -d "$(MULTIHOP)" ]; then $(BIN)/newsdesk eval multihop "$(MULTIHOP)"; \
	  else echo "MultiHop-RAG not found at $(MULTIHOP): newsdesk eval multihop skipped"; fi

eval: install
	$(BIN)/newsdesk eval

# Retrain the answerability gate (service/answer/gate_model.json, evals/gate/report.md).
gate: install-test
	$(BIN)/newsdesk eval train-gate --shared $(dir $(MULTIHOP))
