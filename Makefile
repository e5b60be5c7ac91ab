# Two commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# test files run on this many cores side by side (pytest-xdist; one file stays on one worker)
TEST_WORKERS ?= 2

.PHONY: demo test test-all bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# --no-compile: Python writes bytecode for the modules it imports, not for all of torch/sympy/scipy (-175 MB)
	# CPU build of torch first, so the project's torch range installs nothing more
	$(PY) -m pip install -q --no-compile torch==2.13.0
	$(PY) -m pip install -q --no-compile -e '.[test,serve,litert]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pseudopulse demo

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m ''

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
