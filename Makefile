# Two commands do everything on a fresh machine: `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
JOBS ?= 2
# The as-of date of the forecasts: `today` for an analyst adding evidence; `recorded` (the last committed
# update's date) for CI and publishing, which must reproduce the committed ledger and add nothing to it.
AS_OF ?= today
export PYTHONHASHSEED := 0

.PHONY: setup validate update check backtest book html test test-fast bench publish clean browser

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name forecast-book --display-name "Python (forecast-book)"
	@touch $@

validate: setup
	$(BIN)/forecast validate --data $(DATA)

update: validate
	$(BIN)/forecast update --data $(DATA) --as-of $(AS_OF) --jobs $(JOBS)

# Fails when the ledger is behind the data (run `make book` and commit data/).
check: setup
	$(BIN)/forecast update --check --data $(DATA)

backtest: update
	$(BIN)/forecast backtest --data $(DATA) --jobs $(JOBS)

# The HTML is rebuilt only when a page, the data, the forecasts, the library or the config changed
# (a recursive make re-reads the timestamps that `update` may just have changed).
BOOK_SOURCES = $(shell find book data analysis _static -type f \( -name '*.md' -o -name '*.yaml' -o -name '*.csv' \
                 -o -name '*.json' -o -name '*.py' -o -name '*.css' -o -name '*.js' -o -name '*.svg' \) 2>/dev/null) \
               _config.yml _toc.yml $(wildcard _build/generated/forecasts.json _build/generated/backtest.json)
HTML_STAMP := _build/html/.built

book: backtest
	@$(MAKE) --no-print-directory html

html: $(HTML_STAMP)

$(HTML_STAMP): $(BOOK_SOURCES)
	$(BIN)/forecast prepare-book --data $(DATA)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@touch $@

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The browser, client and stale-page tests read the built book, so the (incremental) build comes first.
test: book browser
	$(BIN)/python -m pytest -q -m "not slow"

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: setup
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python bench/run.py

publish: check
	@$(MAKE) --no-print-directory book AS_OF=recorded
	$(BIN)/ghp-import -n -p -f _build/html

clean:
	rm -rf _build .cache
