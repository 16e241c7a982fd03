# The two commands: `make run` (the whole system on loopback) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Locked dependencies (docs/install.md): every version pinned with its hashes, written by uv.
LOCK := requirements.lock
AGENT_LOCK := dist/agent/requirements.lock
UV_VERSION := 0.13.9
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command 'make lock'

.PHONY: run test test-serial lab-deps bench clean lock lock-upgrade wheels

# The lock installs every package (pip and setuptools included), then the project itself
# without touching them: no resolver and no build isolation, so nothing unpinned comes in.
$(BIN)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --no-deps --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)

# After a change to the dependencies in pyproject.toml or dist/agent/pyproject.toml: pins that
# still fit are kept. `make lock-upgrade` moves every pin to the newest release that fits.
lock: $(BIN)/uv
	$(UV_COMPILE) --extra test -o $(LOCK) pyproject.toml
	$(UV_COMPILE) -o $(AGENT_LOCK) dist/agent/pyproject.toml

lock-upgrade: $(BIN)/uv
	$(UV_COMPILE) --upgrade --extra test -o $(LOCK) pyproject.toml
	$(UV_COMPILE) --upgrade -o $(AGENT_LOCK) dist/agent/pyproject.toml

# Both distributions' wheels (docs/install.md): oasis-edge and the slim oasis-edge-agent.
wheels: $(BIN)/.installed
	$(BIN)/pip wheel -q --no-deps --no-build-isolation --no-index -w dist/wheels . dist/agent

run: $(BIN)/.installed
	$(BIN)/oasis run --demo

lab-deps:
	bash tests/install-lab-deps.sh

# On TEST_WORKERS processes (pytest-xdist), then the tests marked `serial` alone (tests/suite.sh,
# tests/parallel.py). `make test-serial`: the whole suite in one process, in file order, for
# debugging. Both take PYTEST_ARGS.
TEST_WORKERS ?= 3

test: $(BIN)/.installed lab-deps
	PYTEST=$(BIN)/pytest bash tests/suite.sh $(TEST_WORKERS) $(PYTEST_ARGS)

test-serial: $(BIN)/.installed lab-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	bash tests/install-lab-deps.sh
	$(BIN)/python bench/poll_cycle.py

clean:
	rm -rf $(VENV) var .pytest_cache
