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

# scikit-learn's estimator checks feed array-API inputs only when SciPy runs in its array-API
# mode, which SciPy reads once, at import: the main run keeps the mode the product runs in (and
# skips those checks), a second run of the estimator checks alone sets it
ESTIMATOR_CHECKS := tests/models/test_anomaly.py tests/features/test_states.py
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	SCIPY_ARRAY_API=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(ESTIMATOR_CHECKS) \
		-k "estimator_contract"

bench: install-dev
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .bms .pytest_cache build src/*.egg-info
