# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ./var

.PHONY: install run test lint check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/mvoting serve --host $(HOST) --port $(PORT) --data $(DATA)

lint: install
	$(BIN)/ruff check live rooms tests
	$(BIN)/ruff format --check live rooms tests
	$(BIN)/mypy

test: install
	$(MAKE) lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
