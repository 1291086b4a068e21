# The two commands: `make run` (the whole product locally) and `make test` (lint + full test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean messages

# Reinstall only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

run: export DEBUG ?= true
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runlocal

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# After changing texts: refresh the .po files, translate the new entries, then compile the .mo files.
messages: $(STAMP)
	DEBUG=true $(BIN)/python manage.py makemessages -l nl -l fr --ignore ".venv/*" --ignore "tests/*" --ignore "connectors/*" --no-obsolete
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore ".venv/*"
	DJANGO_SETTINGS_MODULE=integration_site.test_settings $(BIN)/python -m tests.test_retired_texts

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache .ruff_cache
