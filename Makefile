# Two entry points: `make preflight` (set up, then the offline preview + policy gate of a stack) and
# `make test` (lint and tests). Both create .venv and install the pinned requirements on first use.
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: preflight test lint unit docs bench install-check clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	# Graphviz draws the preflight's --diagram; installed here where we may (root, as in CI), else say so.
	command -v dot >/dev/null || (apt-get update -qq && apt-get install -y -qq graphviz) \
		|| echo 'warning: install Graphviz (apt-get install graphviz) for --diagram and its tests'
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

preflight: $(STAMP)
	$(PY) -m preflight --stack $(STACK)
	$(PY) -m preflight.cost dev prod

test: lint unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint

unit: $(STAMP)
	$(VENV)/bin/pytest -n 2 -p no:cacheprovider

# Builds the wheel, installs it into a fresh virtualenv and runs `pulumi-preflight` from there on a foreign program
# (part of `make test` too; about 15 s).
install-check: $(STAMP)
	$(VENV)/bin/pytest -p no:cacheprovider tests/test_install.py

docs: $(STAMP)
	$(PY) -m components.config.docs
	$(PY) -m policies.docs

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
