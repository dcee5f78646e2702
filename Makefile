# Two entry points on a fresh clone: `make run` (the app) and `make test` (the suite).
# Both create or reuse the virtual environment in .venv/ at the repository root:
# `make run` installs only requirements.txt (what a lecturer's server needs);
# `make test` adds requirements-dev.txt (pytest, hypothesis, playwright, ruff, scikit-learn).
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.requirements-installed
DEV_STAMP := $(VENV)/.requirements-dev-installed
PORT      ?= 8501

.PHONY: run test bench lint

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $(DEV_STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false

test: $(DEV_STAMP)
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

bench: $(DEV_STAMP)
	$(PY) bench/run_all.py
