# County DLP Agent: `make setup` then `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup test test-slow bench lint clean

setup:
	@set -euo pipefail; \
	interp=$$(scripts/find-python); \
	echo "using $$interp ($$($$interp --version 2>&1))"; \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    echo "existing $(VENV) is older than Python 3.12: recreating"; rm -rf $(VENV); fi; \
	[ -x $(PY) ] || $$interp -m venv $(VENV); \
	$(PY) -m pip install -q --upgrade pip; \
	$(PY) -m pip install -q -e '.[test]'; \
	$(VENV)/bin/dlp-agent --version

test:
	$(PY) -m pytest -q -m "not slow"

test-slow:
	$(PY) -m pytest -q -m slow

bench:
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint:
	$(VENV)/bin/ruff check agent tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
