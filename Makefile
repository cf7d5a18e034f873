# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ./var
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed

.PHONY: install run test lint check clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The official Socket.IO JavaScript client, for tests/live/test_js_client.py.
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	@command -v node >/dev/null || { echo "make: 'node' not found: the tests need Node.js >= 18" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "make: 'npm' not found: the tests need npm" >&2; exit 1; }
	npm ci --prefix $(JS) --no-audit --no-fund
	touch $@

run: install
	$(BIN)/mvoting serve --host $(HOST) --port $(PORT) --data $(DATA)

lint: install
	$(BIN)/ruff check live rooms tests
	$(BIN)/ruff format --check live rooms tests
	$(BIN)/mypy

test: install $(JS_STAMP)
	$(MAKE) lint
	$(BIN)/pytest -q

# Re-extract the translatable text and merge it into the Korean catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ -k ngettext:1,2 \
		--no-location --sort-output --omit-header -o live/locales/messages.pot .
	$(BIN)/pybabel update -i live/locales/messages.pot -d live/locales -l ko \
		--no-fuzzy-matching --omit-header --width 100

clean:
	rm -rf $(VENV) build *.egg-info
