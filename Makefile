# Two commands do everything on a fresh machine: `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
JOBS ?= 2
export PYTHONHASHSEED := 0

.PHONY: setup validate update book test test-fast bench publish clean browser

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
	$(BIN)/forecast update --data $(DATA) --jobs $(JOBS)

book: update
	$(BIN)/forecast prepare-book --data $(DATA)
	$(BIN)/jupyter-book build . -W -n --keep-going

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The browser and stale-page tests read the built book, so the (incremental) build comes first.
test: book browser
	$(BIN)/python -m pytest -q -m "not slow"

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: setup
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python bench/run.py

publish: book
	$(BIN)/ghp-import -n -p -f _build/html

clean:
	rm -rf _build .cache
