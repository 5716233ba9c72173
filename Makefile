# The two commands: `make run` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-scale soak install migrate clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/flask --app wsgi db upgrade

# API on http://127.0.0.1:$${PORT:-5000}, a Celery worker, beat and a local mail sink.
run: migrate
	$(BIN)/python -m scripts.run_all

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Catalog search and lists at a million rows (issue 12): BENCH_ARGS=--books 100000 for a smaller run.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

# A bounded load run against gunicorn + a worker (no 5xx, no lost email, limits hold).
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var
