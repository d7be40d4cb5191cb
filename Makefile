# Two commands matter: `make run` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint docs clean bench

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>$(VENV)/pip-install.log \
		|| { grep -v '^WARNING: Location' $(VENV)/pip-install.log; exit 1; }
	$(BIN)/python -c "import pipelines, duckdb, dbt.version, airflow"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/msdb run

# Two workers (pytest-xdist), one test file each at a time: the suite's session fixtures run once per worker
PYTEST_ARGS ?= -n 2 --dist loadfile

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check pipelines dags tests benchmarks

docs: $(STAMP)
	$(BIN)/msdb docs

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf var
