# CallProof backend. Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
PORT ?= 3000

.PHONY: install tools run test lint typecheck check-template unit integration e2e bench openapi clean chromium browser mutate fuzz client client-types

$(VENV)/.installed: pyproject.toml $(wildcard layers/*/requirements.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	touch $@

# cfn-lint, checkov and the SAM translator pin their own boto3; they live in a separate venv.
$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $@

install: $(VENV)/.installed
tools: $(TOOLS)/.installed

run: install
	$(VENV)/bin/callproof local --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy
	for handler in functions/*/app.py; do $(VENV)/bin/mypy "$$handler" || exit 1; done

check-template: tools
	$(TOOLS)/bin/cfn-lint infra/template.yaml
	$(TOOLS)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml
	AWS_DEFAULT_REGION=us-east-1 $(TOOLS)/bin/python tools/sam_transform.py infra/template.yaml > /dev/null

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q

e2e: install
	$(PY) -m pytest tests/e2e -q

test: install tools lint typecheck check-template chromium client
	$(PY) -m pytest -n 2 -q

# The TypeScript client (clients/typescript, ADR 0016): its npm packages exactly as package-lock.json
# pins them (`npm ci` starts from an empty node_modules); `make client-types` regenerates its types
# from docs/openapi.json (tests/e2e/test_typescript_client.py fails when they are stale).
CLIENT := clients/typescript
$(CLIENT)/node_modules/.installed: $(CLIENT)/package.json $(CLIENT)/package-lock.json
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

client: $(CLIENT)/node_modules/.installed

client-types: client
	cd $(CLIENT) && npm run --silent generate

# Browser tests (tests/browser) drive Debian's chromium through playwright; never `playwright install`.
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

browser: install chromium
	$(PY) -m pytest tests/browser -q

bench: install
	$(PY) -m bench

# Schemathesis over every operation of docs/openapi.json on a local stack (tests/fuzz; `make test` runs
# it with 15 generated cases per operation and mode). The long run: FUZZ_EXAMPLES per operation
# (default 2000), FUZZ_SEED to vary the cases; prints the operations, cases sent and the time taken.
FUZZ_EXAMPLES ?= 2000
FUZZ_SEED ?= 13
fuzz: install
	rm -f .fuzz-report.tsv
	start=$$(date +%s); FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPORT=.fuzz-report.tsv \
	  $(PY) -m pytest tests/fuzz -n 2 -q -p no:randomly; status=$$?; \
	  awk -F'\t' '{ n += 1; cases += $$2 } END { printf "fuzz: %d operation runs, %d cases", n, cases }' .fuzz-report.tsv; \
	  echo ", $$(( $$(date +%s) - start )) s (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED))"; exit $$status

# Mutation testing of the guard modules (not part of `make test`; about 20 minutes on 2 cores).
mutate: install
	$(PY) tools/mutate.py --fresh

openapi: install client
	$(PY) -m callproof_local.openapi > docs/openapi.json.tmp || { rm -f docs/openapi.json.tmp; exit 1; }
	mv docs/openapi.json.tmp docs/openapi.json
	cd $(CLIENT) && npm run --silent generate

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .callproof .mutate* .fuzz-report.tsv $(CLIENT)/node_modules $(CLIENT)/build
