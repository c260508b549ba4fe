# Two commands on a fresh machine: `make dev` and `make test`. Every target installs what it needs.
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed-stamp
PORT    ?= 8000

.PHONY: install dev test lint format bench cost clean tracker chromium layers synth deploy deploy-local dashboard

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tracker (tracker/): npm ci when the lock file changes, esbuild when a source changes.
TRACKER_SRC := $(wildcard tracker/src/*.ts) tracker/delivery-policy.json tracker/build.mjs tracker/package-lock.json
tracker/node_modules/.package-lock.json: tracker/package-lock.json
	cd tracker && npm ci --no-audit --no-fund
	touch $@

tracker/dist/reviva.js: tracker/node_modules/.package-lock.json $(TRACKER_SRC)
	cd tracker && node build.mjs

tracker: tracker/dist/reviva.js

# The dashboard (dashboard/): npm ci when the lock file changes; type-check and bundle when a source changes.
DASHBOARD_SRC := $(wildcard dashboard/src/* dashboard/src/panels/*) dashboard/build.mjs dashboard/tsconfig.json dashboard/package-lock.json
dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

dashboard/dist/index.html: dashboard/node_modules/.package-lock.json $(DASHBOARD_SRC)
	cd dashboard && npm run --silent build

dashboard: dashboard/dist/index.html

# Debian's Chromium for the browser tests (CI runs as root on a fresh machine; skipped when present).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

dev: install tracker dashboard
	$(BIN)/reviva dev --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint tracker chromium dashboard
	cd tracker && node --test test/
	$(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python -m bench

cost: install
	$(BIN)/python -m cost

# Infrastructure (infra/, docs/deploy.md). STAGE=dev|prod; more CDK context: CDK_ARGS='-c key=value'.
STAGE    ?= dev
CDK_ENV  := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
CDK      := $(CDK_ENV) npx --yes aws-cdk@2
CDKLOCAL := $(CDK_ENV) npx --yes -p aws-cdk@2 -p aws-cdk-local cdklocal

layers: install
	$(BIN)/python layers/build.py base lake ml

# Offline: no credentials, no network; layers not built yet are replaced by their recipes.
synth: install
	rm -rf cdk.out
	CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"stage":"$(STAGE)","layerSource":"auto"}' $(CDK_ENV) $(BIN)/python infra/cdk_app.py
	@echo "cdk.out/ written for stage $(STAGE)"

deploy: layers tracker
	$(CDK) deploy --all -c stage=$(STAGE) --require-approval broadening $(CDK_ARGS)
	$(BIN)/python infra/publish_site.py --stack Reviva-$(STAGE)

deploy-local: layers
	$(CDKLOCAL) bootstrap -c stage=$(STAGE) $(CDK_ARGS)
	$(CDKLOCAL) deploy --all -c stage=$(STAGE) --require-approval never $(CDK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .reviva cdk.out build
