# bms: the two commands that do everything are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= influx,mqtt,bacnet,modbus,dask

.PHONY: install install-dev demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[$(EXTRAS),dev]"

demo: install
	$(BIN)/bms demo $(DEMO_ARGS)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .bms .pytest_cache build src/*.egg-info
