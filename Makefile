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
CHROMIUM := /usr/bin/chromium
# The job queue, without its declared dependencies (see the note in pyproject.toml).
ARQ := arq==0.28.0

.PHONY: install run test lint check clean messages browser nginx

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps '$(ARQ)'
	touch $(STAMP)

install: $(STAMP)

# The official Socket.IO JavaScript client, for tests/live/test_js_client.py.
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	@command -v node >/dev/null || { echo "make: 'node' not found: the tests need Node.js >= 18" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "make: 'npm' not found: the tests need npm" >&2; exit 1; }
	npm ci --prefix $(JS) --no-audit --no-fund
	touch $@

# Headless Chromium for tests/browser: Debian's package (the CJK fonts make Korean pages
# readable in screenshots). Nothing to do when it is there; Playwright never downloads one.
browser:
	@test -x $(CHROMIUM) || { \
		echo "make: installing Debian's chromium for the browser tests" >&2; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-noto-cjk; \
	}

# nginx for tests/live/test_deploy.py (deploy/nginx in front of two web nodes): Debian's
# nginx-light, when there is no nginx. The test runs it on a loopback port of its own;
# the stock site on port 80 that the package starts (where services may start) is stopped.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
		echo "make: installing Debian's nginx-light for the deploy test" >&2; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light && \
		{ invoke-rc.d nginx stop >/dev/null 2>&1 || true; }; \
	}

run: install
	$(BIN)/mvoting serve --host $(HOST) --port $(PORT) --data $(DATA)

lint: install
	$(BIN)/ruff check live rooms tests loadtests
	$(BIN)/ruff format --check live rooms tests loadtests
	$(BIN)/mypy

test: install $(JS_STAMP) browser nginx
	$(MAKE) lint
	$(BIN)/pytest -q

# Re-extract the translatable text and merge it into the Korean catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k N_ -k ngettext:1,2 \
		--no-location --sort-output --omit-header -o live/web/locales/messages.pot .
	$(BIN)/pybabel update -i live/web/locales/messages.pot -d live/web/locales -l ko \
		--no-fuzzy-matching --width 100

clean:
	rm -rf $(VENV) build *.egg-info

# The burst benchmark, mvoting against the Node.js Socket.IO peer (loadtests/README.md).
# Not part of `make test`: it wants the machine to itself for a few minutes.
#   make bench ATTENDEES=300 BURSTS=5 BENCH_ARGS="--only mvoting --keep"
ATTENDEES ?= 2000
BURSTS ?= 3
BENCH_ARGS ?=

.PHONY: bench
bench: install
	$(BIN)/python loadtests/bench.py --attendees $(ATTENDEES) --bursts $(BURSTS) $(BENCH_ARGS)

# Scale-out: one web process against two on the same Valkey, one room spread over both
# (loadtests/README.md, "Two nodes"). Same ATTENDEES and BURSTS as `make bench`.
#   make bench-scale ATTENDEES=1000 SCALE_ARGS="--procs 2"
SCALE_ARGS ?=

.PHONY: bench-scale
bench-scale: install
	$(BIN)/python loadtests/scale.py --attendees $(ATTENDEES) --bursts $(BURSTS) $(SCALE_ARGS)

# The join storm: 3,000 attendees open the link in 10 s while the tally is live, against
# mvoting and the Node.js peer (loadtests/README.md, "The join storm").
#   make bench-joins JOINS_ARGS="--attendees 1000 --only mvoting"
JOINS_ARGS ?=

.PHONY: bench-joins
bench-joins: install
	$(BIN)/python loadtests/joinstorm.py $(JOINS_ARGS)

# Hang-ups alone: the web process's CPU per attendee closing its socket, mvoting and the
# peer in the same run (loadtests/README.md, "Hang-ups").
#   make bench-hangup HANGUP_ARGS="--rounds 7"
HANGUP_ARGS ?=

.PHONY: bench-hangup
bench-hangup: install
	$(BIN)/python loadtests/hangup.py $(HANGUP_ARGS)

# One large room: 3,290 and 10,000 attendees on one web process vote at once and all watch
# the live tally (loadtests/README.md, "One large room").
#   make bench-room ROOM_ARGS="--sizes 3290 --bursts 1"
ROOM_ARGS ?=

.PHONY: bench-room
bench-room: install
	$(BIN)/python loadtests/bigroom.py $(ROOM_ARGS)

# The citywide day: 250,000 citizens over a day compressed into 20 minutes, on a 3-node
# Valkey Cluster and PostgreSQL at 127.0.0.1:5432 (loadtests/README.md, "The citywide day").
#   make bench-city CITY_ARGS="--citizens 5000 --minutes 2"
CITY_ARGS ?=

.PHONY: bench-city
bench-city: install
	$(BIN)/python loadtests/cityday.py $(CITY_ARGS)

# A reconnection storm: ATTENDEES on a node that is restarted, all coming back at once with
# the pages' back-off (loadtests/README.md, "Storms"). STORM_ARGS="--stop kill" for a crash.
#   make bench-storm ATTENDEES=2000 STORM_ARGS="--procs 2"
STORM_ARGS ?=

.PHONY: bench-storm
bench-storm: install
	$(BIN)/python loadtests/storm.py restart --attendees $(ATTENDEES) $(STORM_ARGS)
