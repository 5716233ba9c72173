# The two commands: `make run` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run stop test lint bench bench-scale soak cluster install migrate clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# With REDIS_URL unset the command gets a development Redis for as long as it runs.
migrate: $(STAMP)
	$(BIN)/python -m scripts.embedded_redis $(BIN)/flask --app wsgi db upgrade

# API on http://127.0.0.1:$${PORT:-5000}, a Celery worker, beat and a local mail sink.
# Ctrl-C or `make stop` ends all of them, the development Redis included.
run: migrate
	$(BIN)/python -m scripts.run_all

stop:
	$(BIN)/python -m scripts.run_all stop

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

# Across hosts (root; not in CI): APIs, workers and beat in network namespaces of our own.
cluster: $(STAMP)
	$(BIN)/python -m bench.cluster $(CLUSTER_ARGS)
