# Tessera — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run install browser test test-fast lint format bench messages migrate demo clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tessera needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	@touch $(STAMP)

# The scanner's camera decoder (jsQR, package-lock.json) comes from npm when npm exists;
# without it the scanner still works with a keyboard-wedge scanner or typed codes.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the gate scanner works without its camera decoder"; fi

install: $(STAMP) node_modules/.package-lock.json

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: migrate
	$(PY) manage.py load_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# The Chromium of the browser tests: TESSERA_CHROMIUM, /usr/bin/chromium, Debian's package
# installed now when this user can, else Playwright's own download (tools/browser.py).
browser: install
	@$(PY) tools/browser.py

test: install browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(PY) -m bench $(BENCH_ARGS)

messages: install
	cd tessera && ../$(PY) ../manage.py makemessages -l zh_Hans --no-obsolete --ignore 'test*'
	cd tessera && ../$(PY) ../manage.py compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) var
