# Entry points. Both `make run` and `make test` run the idempotent set-up first.
VENV   := .venv
PY     := $(VENV)/bin/python
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: setup run test test-unit test-integration lint bench fuzz dataset model clean help

help:
	@echo "make run   [ARGS='--topo ring,6 --scripted']  controller + Mininet demo (root)"
	@echo "make test  [PYTEST_ARGS=...]                  unit + integration tests (root for tier 2)"
	@echo "make bench [ARGS='--quick']                   benchmarks -> bench/results.json (root)"
	@echo "make fuzz  [ARGS='--frames 1000000 --seed 7'] [OF_ARGS='--messages 1000000 --seconds 600']  fuzz the frame parser and the OpenFlow guard"
	@echo "make dataset | model                         collect the link-cost dataset (root) | train"
	@echo "make test-unit | test-integration | lint | setup | clean"

setup:
	@scripts/setup.sh

run: setup
	$(PY) -m scripts.demo $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

bench: setup
	$(PY) -m scripts.bench $(ARGS)

fuzz: setup
	$(PY) -m testbed.fuzz_frames $(ARGS)
	$(PY) -m testbed.fuzz_openflow $(OF_ARGS)

dataset: setup
	$(PY) -m training.collect_dataset $(ARGS)

model: setup
	$(PY) -m training.train_model $(ARGS)

lint: setup
	$(VENV)/bin/ruff check controller topologies scripts testbed training tests
	$(VENV)/bin/ruff format --check controller topologies scripts testbed training tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
