# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format bench clean

# The runtime install (what `make demo` needs); the test extra comes on top of it for `make test`.
$(BIN)/newsalert: pyproject.toml
	@echo "make: creating the virtual environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@echo "make: upgrading pip in $(VENV) (an old pip warns about lxml's html_clean extra)"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "make: installing newsalert and its dependencies (about a minute the first time)"
	@$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-extra: $(BIN)/newsalert
	@echo "make: installing the test extra (pytest, ruff, import-linter, mypy, the benchmarks' baselines)"
	@$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

demo: $(BIN)/newsalert  ## set up if needed, then run the offline demo
	$(BIN)/newsalert demo

test: $(VENV)/.test-extra  ## set up if needed, then run the lint, the import layers, the types and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.test-extra
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-extra
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.test-extra  ## needs ../shared/data
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
