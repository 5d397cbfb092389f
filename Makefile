# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench clean

$(BIN)/newsalert: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

demo: $(BIN)/newsalert  ## set up if needed, then run the offline demo
	$(BIN)/newsalert demo

test: $(BIN)/newsalert  ## set up if needed, then run the lint, the import layers, the types and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(BIN)/newsalert
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/newsalert
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/newsalert  ## needs ../shared/data
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
