# Deskmate: `make run` starts it (with the bundled helpdesk and Slack sandbox when no credentials are set),
# `make test` runs the whole suite. Both create the virtualenv and install what they need first: `make run` the
# runtime only (requirements.txt), `make test` the tests and tooling too (requirements-dev.txt).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi:app

.PHONY: run test lint typecheck test-sqlite test-postgresql system-deps migrate worker bench clean translations lock

# requirements.txt is the runtime (what `make run` and a production install get), requirements-dev.txt the
# runtime plus the tests and tooling (`make test`); both are compiled from their .in files by `make lock`,
# every package pinned with its hashes, and installed with --require-hashes.
DEV_STAMP := $(VENV)/.installed-dev

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(DEV_STAMP)

# Recompile both lock files after changing a .in file (pip-tools in a virtualenv of its own, inside .venv).
lock:
	test -x $(VENV)/pip-tools/bin/pip-compile || ($(PYTHON) -m venv $(VENV)/pip-tools \
	  && $(VENV)/pip-tools/bin/pip install --quiet pip-tools)
	$(VENV)/pip-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in
	$(VENV)/pip-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements-dev.txt requirements-dev.in

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here), and wrk
# loads the benchmarks (Noto Color Emoji draws the Slack channel view's emoji in screenshots). Installed when
# missing and we may (root); otherwise those tests say why they skip.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium wrk fonts-dejavu-core fonts-noto-color-emoji >/dev/null) \
	      || echo "warning: could not install chromium/wrk; browser tests will be skipped"; \
	  else echo "note: install Debian's chromium and wrk for the browser tests and benchmarks"; fi; \
	fi

# Server-side texts: the .po catalogs are committed, the .mo files built from them (and rebuilt when a .po changes).
# `make translations` (a developer step) extracts the marked texts of the core and of each plugin with a
# translations/ folder, and merges them into its French and Italian catalogs for translating.
TRANSLATION_DIRS := app/translations $(wildcard plugins/*/translations)
MO_FILES := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po plugins/*/translations/*/LC_MESSAGES/messages.po))

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

translations: $(STAMP)
	@for dir in $(TRANSLATION_DIRS); do \
	  pot=$$(mktemp); \
	  $(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output \
	    --project Deskmate -o $$pot $${dir%/translations} || exit 1; \
	  for lang in fr it; do \
	    if [ -f $$dir/$$lang/LC_MESSAGES/messages.po ]; then \
	      $(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete --width 120 -i $$pot -d $$dir -l $$lang; \
	    else $(BIN)/pybabel -q init -i $$pot -d $$dir -l $$lang --width 120 \
	      && $(BIN)/python -m app.i18n plural-forms $$dir/$$lang/LC_MESSAGES/messages.po; fi || exit 1; \
	  done; rm -f $$pot; \
	done

migrate: $(STAMP)
	$(BIN)/flask db upgrade

run: $(STAMP) $(MO_FILES)
	$(BIN)/python -m app.devserver

worker: $(STAMP)
	$(BIN)/flask worker

# ruff for style and bugs; import-linter for the architecture (.importlinter: plugins reach the core only
# through app.api, no plugin imports another, the core imports no plugin, only tests and benches the sandbox).
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

test-sqlite: $(DEV_STAMP) system-deps $(MO_FILES)
	DESKMATE_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q

test-postgresql: $(DEV_STAMP) $(MO_FILES)
	DESKMATE_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q -m "not browser"

test: lint typecheck test-sqlite test-postgresql

clean:
	rm -rf $(VENV) instance dist tests/artifacts .mypy_cache .ruff_cache .pytest_cache
