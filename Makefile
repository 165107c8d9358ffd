# Guanxi — every set-up step lives here, so a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
export PYTHONDONTWRITEBYTECODE := 1
# Tests and the demo run in development mode (insecure key, http cookies); production sets SECRET_KEY.
test test-fast test-postgres messages migrations-check docs bench: export GUANXI_DEV := 1
demo serve: export DEBUG ?= 1

.PHONY: install demo serve worker test test-fast test-postgres test-browser lint format migrations-check bench docs messages clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Compiled catalogues (.mo) are build output: made here from src/guanxi/locale/*/django.po.
messages: install
	cd src/guanxi && if [ -d locale ]; then ../../$(PY) -m guanxi compilemessages -v 0; fi

demo: install messages
	$(PY) -m guanxi migrate --no-input -v 0
	$(PY) -m guanxi seed-demo --if-empty
	$(MAKE) --no-print-directory serve

# The web server and, beside it, a background worker (imports, grading) and the hourly
# sweeps (`python -m guanxi sweep`; cron does this in production); all stop together.
serve: install
	$(PY) -m guanxi collectstatic --no-input -v 0
	$(PY) -m guanxi print-demo-logins
	$(PY) -m guanxi db_worker --queue-name '*' --no-reload -v 0 & worker=$$!; \
	while true; do $(PY) -m guanxi sweep >/dev/null; sleep 3600; done & sweeper=$$!; \
	trap 'kill $$worker $$sweeper 2>/dev/null' EXIT INT TERM; \
	$(PY) -m guanxi runserver $(HOST):$(PORT)

worker: install
	$(PY) -m guanxi db_worker --queue-name '*'

# Unit and integration suite on the configured database (SQLite by default), then the browser journeys.
test: install messages
	$(PY) -m guanxi collectstatic --no-input -v 0
	$(PY) -m pytest -q -n 2 -m "not browser"
	$(PY) -m pytest -q -m browser

test-fast: install
	$(PY) -m pytest -q -x -m "not browser"

test-postgres: install messages
	DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/guanxi} $(PY) -m pytest -q -n 2 -m "not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	GUANXI_DEV=1 $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: install
	$(PY) -m guanxi makemigrations --check --dry-run

docs: install
	$(PY) -m guanxi policy-docs -o docs/policies.md

clean:
	rm -rf $(VENV) node_modules var/static

# Benchmarks: generates data into var/bench/, writes var/bench/results.json and results.md.
bench: install
	$(PY) -m guanxi bench $(BENCH_ARGS)
