# Kaili grid governance. `make run` starts the demo; `make test` runs every test.
# Without DATABASE_URL an embedded PostgreSQL runs from var/pgdata; without
# CELERY_BROKER_URL Celery tasks run eagerly in-process.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench check-deploy stop-db clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "凯里网格化治理平台: http://127.0.0.1:8000/"
	$(MANAGE) runserver 127.0.0.1:8000

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/grid_tree.py
	$(BIN)/python bench/populations.py
	$(BIN)/python bench/cases.py
	$(BIN)/python bench/disputes.py
	$(BIN)/python bench/dashboard.py

check-deploy: install
	KAILI_ENV=production DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DJANGO_ALLOWED_HOSTS=grid.kaili.example $(MANAGE) check --deploy --fail-level WARNING

stop-db:
	@test -x $(BIN)/python && $(BIN)/python -c "from kaili.database import stop_embedded; stop_embedded()" || true

clean: stop-db
	rm -rf $(VENV) var
