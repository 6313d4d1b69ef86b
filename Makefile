# The two set-up commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test test-fast screenshots data bench clean

# Python keeps the byte code of our modules (__pycache__/, ignored by git) even where the shell sets
# PYTHONDONTWRITEBYTECODE: some twenty processes of a test run (workers, servers, exports, kernels) import recsys and
# the tests, and each would compile them again.
unexport PYTHONDONTWRITEBYTECODE

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

data: $(VENV)/.installed          ## fetch + parse ML-100k into $RECSYS_HOME/data (cached)
	$(PY) -m recsys data

run: data                         ## start the app on http://localhost:$(PORT) (first start: trains one run of each kind, ~1-2 min)
	$(PY) -m recsys ready
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false

test: $(VENV)/.installed          ## the whole suite, what CI runs, on two workers (changes no tracked file)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test-fast: $(VENV)/.installed     ## the loop while you work: no browser, nothing slow (under a minute)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not browser and not slow and not quiet"

screenshots: $(VENV)/.installed   ## refresh the README's screenshots (docs/screenshots) from the browser test
	RECSYS_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/test_browser.py

bench: $(VENV)/.installed         ## the benchmark table of the README
	$(PY) -m recsys bench train
	$(PY) -m recsys bench eval

clean:
	rm -rf $(VENV) .pytest_cache
