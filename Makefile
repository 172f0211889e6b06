# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo serve test lint bench bench-sale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## demo: install and run `live demo` on the in-memory store (seeded co-op, open show);
## LAN=1 makes it reachable from phones on the same Wi-Fi (plain HTTP: rehearsals only)
demo: $(VENV)/.installed-run
	$(BIN)/live demo $(if $(filter 1 yes true,$(LAN)),--lan,--host $(HOST)) --port $(PORT) $(ARGS)

## serve: install and run `live serve` (set LIVE_REDIS_URL for Redis)
serve: $(VENV)/.installed-run
	$(BIN)/live serve --host $(HOST) --port $(PORT) $(ARGS)

## test: install the test extras and run the whole suite
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(ARGS)

## lint: ruff and mypy (strict)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check live tests
	$(BIN)/ruff format --check live tests
	$(BIN)/mypy

## bench: orders per second through the store, memory and Redis
bench: $(VENV)/.installed-run
	$(BIN)/live bench store $(ARGS)

## bench-sale: a flash sale over sockets (2,000 viewers, stock 500; see docs/performance.md)
bench-sale: $(VENV)/.installed-run
	$(BIN)/live bench sale $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
