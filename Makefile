# The two commands: `make run` (the whole system on loopback) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lab-deps bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/oasis run --demo

lab-deps:
	bash tests/install-lab-deps.sh

test: $(BIN)/.installed lab-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	BENCH=1 bash tests/install-lab-deps.sh
	$(BIN)/python bench/poll_cycle.py

clean:
	rm -rf $(VENV) var .pytest_cache
