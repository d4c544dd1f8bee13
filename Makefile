.PHONY: help setup up demo test unit lint format screenshots

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

setup: ## create .venv with stackrun and the dev tools
	scripts/setup

up: ## run stackrun with the demo platform on embedded defaults
	scripts/up --demo

test: ## run the whole test suite (unit + integration)
	scripts/test

unit: setup ## run the unit tests only
	.venv/bin/python -m pytest tests/unit -q

lint: setup ## ruff (lint + format check), mypy --strict, import rules
	.venv/bin/ruff check orchestrator workers tests bench
	.venv/bin/ruff format --check orchestrator workers tests bench
	.venv/bin/mypy orchestrator workers
	.venv/bin/lint-imports

format: setup ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix orchestrator workers tests bench
	.venv/bin/ruff format orchestrator workers tests bench

screenshots: setup ## refresh docs/screenshots/ from the UI browser tests (needs chromium, Redis, PostgreSQL)
	STACKRUN_SCREENSHOTS=$(CURDIR)/docs/screenshots .venv/bin/python -m pytest -q tests/integration/test_ui_browser.py
