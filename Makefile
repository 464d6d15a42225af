# Health Data Science Sandbox: `make up` to run it, `make test` to prove it.
# `make` alone lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PY        := .venv/bin/python
VENV      := .venv/.installed
STATE     := var
PROXY     := .tools/node_modules/.bin/configurable-http-proxy
HOST_PKGS := docker.io debootstrap python3-venv curl ca-certificates restic procps
SLURM_PKGS := slurm-client munge
TEST_PKGS := postgresql chromium openssh-client prometheus $(SLURM_PKGS)
SIZE      ?= tiny
SEED      ?= 7
OUT       ?= $(STATE)/data/synthetic
UP_SIZE   ?= tiny
PYTEST    ?= $(PY) -m pytest
FAST      := not docker and not postgres and not browser and not ansible and not slurm and not slow

.PHONY: help up up-data down test test-fast test-ansible provision test-deps bench bench-slurm lint fmt images dataset host-deps engine venv proxy lock clean backup restore slurm-up slurm-down

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

up: host-deps venv proxy engine images ## Set up everything and start the hub on http://127.0.0.1:8000
	@$(MAKE) --no-print-directory up-data
	@scripts/hub.sh start

up-data:
	@if [ -z "$$(ls -A $(OUT) 2>/dev/null)" ]; then \
	  $(MAKE) --no-print-directory dataset SIZE=$(UP_SIZE) OUT=$(OUT); \
	  $(MAKE) --no-print-directory dataset SIZE=$(UP_SIZE) SEED=1007 OUT=$(STATE)/data/restricted DATASET_ARGS="--sensitivity restricted"; \
	fi

down: ## Stop the hub, its proxy, user servers and a dockerd that make up started (data stays)
	@if [ -x $(PY) ]; then scripts/hub.sh stop; fi
	@scripts/engine.sh stop $(STATE)

backup: host-deps venv ## Back up the databases, secrets, settings, homes and archives to restic (the hub keeps serving)
	.venv/bin/hdss-backup backup

restore: host-deps venv ## Restore the newest complete backup (stop the hub first): RUN=<id> ONLY=state,volumes,archives
	.venv/bin/hdss-backup restore $(if $(RUN),--run $(RUN)) $(if $(ONLY),--only $(ONLY))

test: host-deps test-deps venv proxy engine images ## Install what the tests need and run them all (real engine)
	CI=$${CI:-} $(PYTEST) -p no:cacheprovider

test-fast: venv ## Unit tests only: no engine, database server, browser or Ansible
	$(PYTEST) -p no:cacheprovider -m "$(FAST)"

bench: venv proxy engine images ## Benchmarks: spawn rushes and memory, start to a working notebook in Chromium, Slurm spawns, datasets, queries
	mkdir -p bench/results
	$(PY) bench/bench_spawn.py --out bench/results
	$(PY) bench/bench_browser.py --out bench/results --no-build
	@$(MAKE) --no-print-directory bench-slurm
	$(PY) bench/bench_datasets.py --out bench/results
	$(PY) bench/bench_airlock.py --out bench/results

bench-slurm: host-deps venv proxy engine images ## Slurm spawns through the hub (1 user, 10 at once) beside Docker, on a cluster it brings up and removes
	@scripts/host-deps.sh $(SLURM_PKGS)
	$(PY) images/build.py --only slurmnode
	$(PY) bench/bench_slurm.py --out bench/results

bench-full: venv ## Not in bench: generate, verify and time the full size (5,000,000 persons, ~16 GB, tens of minutes)
	$(PY) bench/bench_datasets.py --size full --out bench/results

slurm-up: host-deps venv engine images ## A Slurm cluster as containers (slurmctld, node1-2, secure1); this host submits
	@scripts/host-deps.sh $(SLURM_PKGS)
	$(PY) images/build.py --only slurmnode
	@$(MAKE) --no-print-directory up-data
	$(PY) -m hdss_slurm.cluster up --state $(STATE)/slurm --synthetic $(OUT) --restricted $(STATE)/data/restricted

slurm-down: venv ## Remove the Slurm cluster's containers, networks and node volumes (homes and munge key stay)
	$(PY) -m hdss_slurm.cluster down --state $(STATE)/slurm

test-ansible: host-deps test-deps venv engine ## Only the Ansible tests (lint, converge, idempotence, check mode)
	CI=$${CI:-} $(PYTEST) -p no:cacheprovider tests/ansible

provision: venv ## Provision this host with Ansible (needs systemd as PID 1; see ansible/README.md)
	cd ansible && ../.venv/bin/ansible-playbook -i inventories/local/hosts.yml site.yml

lint: venv ## Ruff and ansible-lint
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	cd ansible && ../.venv/bin/ansible-lint --offline

fmt: venv ## Format the code
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

images: engine venv ## Build the single-user images (skipped when their inputs are unchanged)
	$(PY) images/build.py

dataset: venv ## Generate and publish a synthetic dataset: make dataset SIZE=tiny SEED=7 OUT=dir
	.venv/bin/hdss-dataset generate --size $(SIZE) --seed $(SEED) --out $(OUT) $(DATASET_ARGS)

host-deps:
	@scripts/host-deps.sh $(HOST_PKGS)
	@command -v npm >/dev/null || scripts/host-deps.sh nodejs npm

test-deps:
	@scripts/host-deps.sh $(TEST_PKGS)

engine: host-deps
	@scripts/engine.sh start $(STATE)

venv: $(VENV)
$(VENV): requirements/dev.txt requirements/hub.txt pyproject.toml
	@test -x $(PY) || /usr/bin/python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

proxy: $(PROXY)
$(PROXY):
	@command -v npm >/dev/null || scripts/host-deps.sh nodejs npm
	npm install --silent --no-fund --no-audit --prefix .tools configurable-http-proxy@5.3.0

lock: ## Regenerate requirements/*.txt from requirements/*.in
	scripts/lock.sh

clean: down ## Remove the venv and tools (keeps var/: data, secrets, hub database)
	rm -rf .venv .tools
