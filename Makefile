# qa_live — `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
export FLASK_APP := qa_live
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp
VENDOR := static/vendor
TRANSLATIONS := qa_live/translations

.PHONY: run scale install install-dev assets translations migrate demo test lint extract-messages bench bench-quick clean

# Serving needs requirements.lock only (what `make run` installs); the test and lint tools come
# from requirements-dev.lock, installed by `make test`, `make lint` and `make bench`.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	touch $@

install: $(STAMP) assets translations

install-dev: install $(DEV_STAMP) node_modules/.dev-stamp

# Serving needs the browser libraries only; the tests also need axe-core (a devDependency).
node_modules/.stamp: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund --loglevel=error
	rm -f node_modules/.dev-stamp
	touch $@

node_modules/.dev-stamp: node_modules/.stamp
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.stamp $@

# Third-party browser files come from the npm registry; they are copied, never committed.
$(VENDOR)/.stamp: node_modules/.stamp
	mkdir -p $(VENDOR)
	cp node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/hls.js/dist/hls.light.min.js $(VENDOR)/
	touch $@

# Fingerprinted, pre-compressed copies of static/ in static/build/ (qa_live/core/assets.py; the
# app also makes any that are missing when it starts): what WhiteNoise and nginx serve.
assets: $(VENDOR)/.stamp $(STAMP)
	$(BIN)/python -m qa_live.core.assets

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d $(TRANSLATIONS) -D messages 2>&1 | grep -v "^compiling" || true
	@test -f $(TRANSLATIONS)/zh_Hans_CN/LC_MESSAGES/messages.mo

migrate: $(STAMP)
	$(FLASK) db upgrade

# The demo data goes in once; later runs only print the logins.
demo: migrate
	@if [ -f instance/.demo-loaded ]; then $(FLASK) demo logins; \
	else $(FLASK) demo load && touch instance/.demo-loaded; fi

run: install demo
	@echo "qa_live: serving on http://127.0.0.1:$${PORT:-5000}  (Ctrl-C stops)"
	$(BIN)/python wsgi.py

# The multi-worker deployment on loopback (PostgreSQL, Redis, two workers, nginx): until Ctrl-C.
scale: install
	$(BIN)/python scripts/scale.py

# lint-imports: the packages are layers (pyproject.toml, [tool.importlinter]).
lint: $(DEV_STAMP)
	$(BIN)/ruff check qa_live tests $(wildcard bench) config.py wsgi.py migrations scripts/scale.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# STRICT=1 (what .ci/run sets) turns "service not available, skipped" into a failure.
# scripts/test.sh also installs what the tests need from apt and npm (the test OIDC provider in
# tests/oidc: oidc-provider from the npm registry, never committed).
test: install-dev lint
	scripts/test.sh $(if $(filter 1,$(STRICT)),--strict) $(PYTEST_ARGS)

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i messages.pot -d $(TRANSLATIONS) -D messages --no-fuzzy-matching -w 100
	rm -f messages.pot

# Issue 7: qa_live's live path next to bare python-socketio (gevent, eventlet) and Node socket.io
# relays; results in bench/results/<date>-<name>.json, figures in docs/performance.md.
# On a shared machine run it under the shared lock: flock /tmp/qa_bench.lock make bench
# BENCH_ARGS adds or overrides harness options, e.g. BENCH_ARGS="--stats-questions 1000000".
BENCH_ARGS ?=
bench/node/node_modules/.stamp: bench/node/package.json bench/node/package-lock.json
	npm ci --prefix bench/node --no-audit --no-fund --loglevel=error
	touch $@

# The standard set (about 65 minutes on 2 cores, 40 of them filling and indexing the archives):
# 1,000, then 5,000, then 10,000 citizens on qa_live (gevent, SQLite) and the three references,
# with 60 s of questions at 200 a second and then at 1,000 a second (issue 17's rate) on the
# 10,000; 1,000 and 5,000 on qa_live under eventlet and on 2 workers + Redis + PostgreSQL behind
# nginx (60 s at 200 a second on the 5,000); 20,000 citizens in one session on one process;
# the floods; the annual statistics page over 1,000,000 questions on SQLite and PostgreSQL; the
# archive's search over 1,000,000 questions on both; a crowd arriving (storm-pages): 1,000 and
# 10,000 new visitors load the live page, then join, beside Node's socket-only storm.
bench: $(DEV_STAMP) bench/node/node_modules/.stamp
	$(BIN)/python bench/harness.py --name full --clients 10000 --secondary-clients 5000 \
		--stages 1000,5000 --publishes 10 --intake-rate 200 --intake-seconds 60 \
		--target-intake-rate 1000 --session-clients 20000 \
		--no-reference-steps --step-seconds 5 --flood-seconds 10 \
		--stats-questions 1000000 --stats-databases sqlite,postgresql \
		--search-questions 1000000 --search-databases sqlite,postgresql \
		--storm-clients 1000,10000 $(BENCH_ARGS)

# A 1,000-citizen smoke run (about 5 minutes: 288 s on 2026-12-06): qa_live under gevent and the
# three references, and every other scenario at a small size.
bench-quick: $(DEV_STAMP) bench/node/node_modules/.stamp
	$(BIN)/python bench/harness.py --name quick --clients 1000 --publishes 10 --gap 0.1 \
		--qa-live-configs gevent --intake-rate 200 --intake-seconds 10 \
		--short-intake-seconds 5 --target-intake-rate 400 --session-clients 2000 \
		--no-reference-steps --step-seconds 2 --settle 5 \
		--drain 10 --flood-seconds 5 --stats-questions 20000 --stats-databases sqlite \
		--search-questions 20000 --search-databases sqlite --storm-clients 500 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules bench/node/node_modules tests/oidc/node_modules $(VENDOR) static/build .pytest_cache .ruff_cache .mypy_cache
