# groupware: `make run` to try it, `make test` to test it. Nothing else needs installing
# by hand: the virtualenv, the Python packages and (for the browser tests) Debian's
# chromium are installed on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# Each pass spreads its test files over this many processes (pytest-xdist; a file's
# tests stay together, so module fixtures are made once).
TEST_WORKERS ?= 2

.PHONY: run install install-test test test-sqlite test-postgresql fuzz chromium bench lint messages clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## run: migrate, load the demo company (once) and serve on http://127.0.0.1:8000/
run: install
	$(BIN)/groupware migrate
	$(BIN)/groupware demo
	$(BIN)/groupware serve

## test: the whole suite on SQLite and then on a fresh PostgreSQL database when
## reachable (each line of output prefixed with its pass)
test: install-test chromium
	@if $(BIN)/python tools/pg_ready.py "$(PG_URL)"; then \
		MAKE="$(MAKE)" sh tools/passes.sh test-sqlite test-postgresql; \
	elif [ -n "$$GROUPWARE_REQUIRE_PG" ]; then \
		echo "PostgreSQL at $(PG_URL) is not reachable and GROUPWARE_REQUIRE_PG is set"; exit 1; \
	else \
		echo "PostgreSQL at $(PG_URL) is not reachable: skipped the PostgreSQL run"; \
		$(MAKE) --no-print-directory test-sqlite; \
	fi

test-sqlite: install-test
	GROUPWARE_TEST_DB=sqlite $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-postgresql: install-test
	GROUPWARE_TEST_DB=postgresql GROUPWARE_TEST_PG="$(PG_URL)" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## fuzz: a longer run of the API fuzz test (the suite sends 6 valid requests per operation
## and user; FUZZ_EXAMPLES=30 by default here), on SQLite and on PostgreSQL when reachable
FUZZ_EXAMPLES ?= 30
fuzz: install-test
	GROUPWARE_TEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GROUPWARE_TEST_DB=sqlite \
		$(BIN)/python -m pytest -s tests/api/test_fuzz.py $(PYTEST_ARGS)
	@if $(BIN)/python tools/pg_ready.py "$(PG_URL)"; then \
		GROUPWARE_TEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GROUPWARE_TEST_DB=postgresql \
		GROUPWARE_TEST_PG="$(PG_URL)" $(BIN)/python -m pytest -s tests/api/test_fuzz.py $(PYTEST_ARGS); \
	fi

## chromium: Debian's chromium for the Playwright tests (apt-get, as root or with sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## bench: the benchmarks in bench/ (see bench/README.md)
bench: install-test
	$(BIN)/python bench/run.py

## lint: formatting, lint and types
lint: install-test
	$(BIN)/ruff format --check groupware tests bench tools
	$(BIN)/ruff check groupware tests bench tools
	$(BIN)/mypy groupware

## messages: extract translatable strings and update the hr/en catalogs
messages: install
	$(BIN)/python tools/messages.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
