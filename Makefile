# CallProof backend. Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
CHECKOV := .venv-checkov
PORT ?= 3000

.PHONY: install tools run test lint typecheck check-template unit integration e2e bench openapi clean chromium browser mutate fuzz lock build build-host client client-types retention-docs

# Every venv installs from a lock file with hashes (ADR 0015; `make lock` writes them), with
# --require-hashes --no-deps: each file's sha256 is checked and nothing unlisted is installed. pip
# installs uv alone into the tools venv (requirements-uv.lock); uv installs the rest: the same checks,
# and it keeps a wheel cache (pip keeps none on these machines), so a clean clone installs in seconds.
# The dev venv gets its bytecode compiled, as pip does (tools/packages.py estimates sizes from it).
UV := $(TOOLS)/bin/uv
UV_INSTALL = $(UV) pip install --quiet --require-hashes --no-deps --python
$(VENV)/.installed: requirements-dev.lock $(TOOLS)/.installed
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(UV_INSTALL) $(PY) --compile-bytecode -r requirements-dev.lock
	$(UV) pip install --quiet --no-deps --no-build-isolation --python $(PY) -e .
	touch $@

# cfn-lint, the SAM translator and SAM CLI pin their own boto3 and pydantic; they live in a separate
# venv. checkov pins yet another boto3 (1.35.49, where SAM CLI pins 1.43.108): a venv of its own.
$(TOOLS)/.installed: requirements-uv.lock requirements-tools.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements-uv.lock
	$(UV_INSTALL) $(TOOLS)/bin/python -r requirements-tools.lock
	touch $@

$(CHECKOV)/.installed: requirements-checkov.lock $(TOOLS)/.installed
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(UV_INSTALL) $(CHECKOV)/bin/python -r requirements-checkov.lock
	touch $@

install: $(VENV)/.installed
tools: $(TOOLS)/.installed $(CHECKOV)/.installed

# The lock files from their inputs, with the sha256 of every file the registry has for each pin. Layers:
# exactly their requirements.txt (--no-deps: each is its whole closure, ADR 0012) for python3.12 on
# arm64; the venvs: everything their inputs need, for python 3.11 on any platform.
LOCK = $(UV) pip compile --quiet --generate-hashes --custom-compile-command "make lock"
lock: tools
	for layer in layers/*/; do \
	  $(LOCK) --no-deps --python-version 3.12 --python-platform aarch64-manylinux2014 \
	    $${layer}requirements.txt -o $${layer}requirements.lock || exit 1; done
	$(LOCK) --universal --python-version 3.11 pyproject.toml requirements-dev.txt --extra local --extra dev \
	  -o requirements-dev.lock
	$(LOCK) --universal --python-version 3.11 requirements-tools.txt -o requirements-tools.lock
	grep '^uv==' requirements-tools.txt | $(LOCK) --universal --python-version 3.11 - -o requirements-uv.lock
	$(LOCK) --universal --python-version 3.11 requirements-checkov.txt -o requirements-checkov.lock

# `sam build` without Docker (ADR 0015): python3.12, the functions' runtime, first on PATH (SAM's
# Python workflow and the layers' Makefiles run it). `make build` is the deployable build (layers for
# arm64, in .aws-sam/build, what `sam deploy` reads); `make build-host` builds the same template with
# the layers for this machine's platform into .aws-sam/build-host, which tests/built runs.
# (looked up once, on first use: `make lint` never runs the search)
PYTHON312 ?= $(eval PYTHON312 := $(shell $(PYTHON) tools/python312.py))$(PYTHON312)
HOST_PLATFORM := manylinux2014_$(shell uname -m)
SAM_BUILD = PATH="$(dir $(PYTHON312)):$$PATH" SAM_CLI_TELEMETRY=0 LAYER_UV=$(abspath $(TOOLS)/bin/uv) $(TOOLS)/bin/sam build \
	--template-file infra/template.yaml --parallel --cached
# SAM's Python workflow ships a function's code without bytecode, and Lambda cannot write it under
# /var/task: each function's folder is compiled after the build, as the layers are (ADR 0012).
COMPILE_FUNCTIONS = $(PYTHON312) -m compileall -q --invalidation-mode unchecked-hash
build: tools
	@test -n "$(PYTHON312)" || { echo "make build: no python3.12 (pyenv install 3.12, or put one on PATH)"; exit 1; }
	$(SAM_BUILD)
	$(COMPILE_FUNCTIONS) .aws-sam/build/*Function

build-host: tools
	@if test -z "$(PYTHON312)"; then echo "make build-host: no python3.12 here: tests/built will be skipped"; \
	else echo "sam build, layers for $(HOST_PLATFORM), into .aws-sam/build-host (log: .aws-sam-build-host.log)"; \
	  LAYER_PLATFORM=$(HOST_PLATFORM) $(SAM_BUILD) --build-dir .aws-sam/build-host --cache-dir .aws-sam/cache-host \
	    > .aws-sam-build-host.log 2>&1 || { cat .aws-sam-build-host.log; exit 1; }; \
	  $(COMPILE_FUNCTIONS) .aws-sam/build-host/*Function; fi

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
	$(CHECKOV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml
	AWS_DEFAULT_REGION=us-east-1 $(TOOLS)/bin/python tools/sam_transform.py infra/template.yaml > /dev/null

unit: install
	$(PY) -m pytest tests/unit -q

integration: install
	$(PY) -m pytest tests/integration -q

e2e: install
	$(PY) -m pytest tests/e2e -q

# build-host first: tests/built runs the functions as sam builds them (skipped where python3.12 is missing).
test: install tools lint typecheck check-template chromium build-host client
	$(PY) -m pytest -n 2 --dist loadgroup -q

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

bench: install build-host
	$(PY) -m bench

# Deploying (docs/deploy.md): ENV is one of samconfig.toml's environments. deploy builds (make build)
# then runs `sam deploy --config-env ENV`; destroy runs `sam delete`, which asks before it deletes
# (the user pool, the data bucket and the tables are retained: see docs/deploy.md). `make validate`
# lints the template for every environment offline (`sam validate --lint`).
.PHONY: deploy destroy validate
DEPLOY_ENVS := dev staging prod
SAM = SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam
EMPTY :=
CHECK_ENV = @case '$(ENV)' in $(subst $(EMPTY) $(EMPTY),|,$(DEPLOY_ENVS))) ;; *) \
	echo "make $@: ENV must be one of $(DEPLOY_ENVS) (samconfig.toml), e.g. make $@ ENV=dev" >&2; exit 2;; esac
deploy:
	$(CHECK_ENV)
	$(MAKE) build
	$(SAM) deploy --config-env $(ENV)

destroy:
	$(CHECK_ENV)
	$(MAKE) tools
	$(SAM) delete --config-env $(ENV)

validate: tools
	for env in $(DEPLOY_ENVS); do $(SAM) validate --lint --config-env $$env || exit 1; done

# Schemathesis over every operation of docs/openapi.json on a local stack (tests/fuzz; `make test` runs
# it with 15 generated cases per operation and mode). The long run: FUZZ_EXAMPLES per operation
# (default 2000), FUZZ_SEED to vary the cases; prints the operations, cases sent and the time taken,
# then each operation that did not pass (also in .fuzz-report.tsv, written as each one ends).
FUZZ_EXAMPLES ?= 2000
FUZZ_SEED ?= 13
fuzz: install
	rm -f .fuzz-report.tsv
	start=$$(date +%s); FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPORT=.fuzz-report.tsv \
	  $(PY) -m pytest tests/fuzz -n 2 -q -p no:randomly; status=$$?; \
	  awk -F'\t' '{ n += 1; cases += $$2 } END { printf "fuzz: %d operation runs, %d cases", n, cases }' .fuzz-report.tsv; \
	  echo ", $$(( $$(date +%s) - start )) s (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED))"; \
	  awk -F'\t' '$$3 != "passed" { print "  " $$3 ": " $$1 }' .fuzz-report.tsv; exit $$status

# Mutation testing of the guard modules (not part of `make test`; about 20 minutes on 2 cores).
mutate: install
	$(PY) tools/mutate.py --fresh

openapi: install client
	$(PY) -m callproof_local.openapi > docs/openapi.json.tmp || { rm -f docs/openapi.json.tmp; exit 1; }
	mv docs/openapi.json.tmp docs/openapi.json
	cd $(CLIENT) && npm run --silent generate

# docs/retention.md from the retention rules (callproof/retention/model.py); a unit test fails when stale.
retention-docs: install
	$(PY) tools/retention_docs.py

clean:
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) .aws-sam .aws-sam-build-host.log .pytest_cache .mypy_cache .ruff_cache .callproof .mutate* .fuzz-report.tsv $(CLIENT)/node_modules $(CLIENT)/build
