# AICosts developer commands. `make run` starts everything locally; `make test` runs the tests.
SHELL := /bin/bash
# The newest CPython from 3.13 down to 3.11 found on the PATH (the pinned dependencies support these);
# `make PYTHON=/path/to/python3.12 ...` chooses one.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null && { echo $$p; break; }; \
	done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto')
PROTO_STAMP := proto/.generated

.PHONY: python-version run test test-slow chaos proto proto-check lint k8s-check bench images logs clean install browser

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11, 3.12 or 3.13 is required (none found on the PATH)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Which Python the venv is made with (CI prints it first).
python-version:
	@test -n "$(PYTHON)" && $(PYTHON) --version || { echo "Python 3.11, 3.12 or 3.13 is required"; exit 1; }

$(PROTO_STAMP): $(PROTOS) $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto --grpc_python_out=proto $(PROTOS)
	touch $(PROTO_STAMP)

proto: $(PROTO_STAMP)

# Fails when the generated code does not match the .proto files (CI runs it).
proto-check: $(STAMP)
	@tmp=$$(mktemp -d); \
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=$$tmp --pyi_out=$$tmp --grpc_python_out=$$tmp $(PROTOS); \
	for f in $$(cd $$tmp && find . -name '*_pb2*.py*'); do \
	  cmp -s $$tmp/$$f proto/$$f || { echo "stale generated code: proto/$$f (run make proto)"; rm -rf $$tmp; exit 1; }; \
	done; rm -rf $$tmp; echo "generated protobuf code is current"

# Every log line also goes to var/logs/stack.log (read it with `make logs`); tee -i ignores
# Ctrl-C, so the services' shutdown lines are still written.
run: $(PROTO_STAMP)
	@mkdir -p var/logs
	set -o pipefail; $(BIN)/python -m devstack run 2>&1 | tee -i var/logs/stack.log

# Lint and checks, then every test but the slow end-to-end ones (marker `slow`: tests/e2e,
# tests/browser, tests/chaos and the integration files that start extra processes or fuzz).
test: $(PROTO_STAMP) proto-check lint k8s-check
	$(BIN)/python -m pytest -m 'not slow' $(PYTEST_ARGS)

# The slow end-to-end tests; CI runs them after `make test`.
test-slow: $(PROTO_STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The fault scenarios at full length (kill -9 of each service, the database down 30 s), printing
# what each did and checked; `make test-slow` runs them short (CHAOS_SCALE=short, the default).
chaos: $(PROTO_STAMP)
	CHAOS_SCALE=full $(BIN)/python -m pytest -m chaos -s -o timeout=900 tests/chaos $(PYTEST_ARGS)

# Debian's Chromium for the browser tests (tests/browser); Playwright drives it and downloads nothing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }
	@chromium --version

# Style, then the layers docs/architecture.md describes (import contracts in pyproject.toml),
# then types (mypy over the production code; it reads the generated protobuf stubs).
lint: $(PROTO_STAMP)
	$(BIN)/ruff check .
	PYTHONPATH=services/common $(BIN)/lint-imports  # testkit (tests only) is not installed
	$(BIN)/mypy

k8s-check: $(STAMP)
	bash k8s/check.sh

# Container images, one target per service of the multi-stage Dockerfile (needs a Docker engine).
images:
	@docker info >/dev/null 2>&1 || { echo "no Docker engine answers here: images cannot be built on this machine"; exit 1; }
	for s in gateway auth keyvault usage parser; do docker build --target $$s -t aicosts/$$s:$${TAG:-dev} . || exit 1; done

bench: $(PROTO_STAMP)
	$(BIN)/python -m bench

# The running stack's log lines, readable; `make logs ID=<X-Request-ID>` shows one request's lines
# in every service (gateway, auth, keyvault, usage, parser and the sync workers).
logs:
	@test -s var/logs/stack.log || { echo "no var/logs/stack.log yet: start the stack with make run"; exit 1; }
	$(BIN)/python -m svccommon.logview $(if $(ID),--request-id $(ID),--follow) var/logs/stack.log

clean:
	rm -rf var $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache $(PROTO_STAMP)
	find proto -name '*_pb2*.py*' -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
