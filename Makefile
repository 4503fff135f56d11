# Two entry points on a fresh machine: `make demo` (the local stack) and `make test` (the suite).
# Everything they need is installed first: system packages, a virtualenv, the Kafka jars.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: test demo setup system-deps jars lint typecheck render bench clean

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) -m harness demo

setup: system-deps $(STAMP) jars

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

jars: $(STAMP)
	$(PY) -m harness fetch

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

render: $(STAMP)
	PYTHONPATH=. $(VENV)/bin/kafka-vitals render --out .  # tools/ on the path: the promtool tests too

bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
