# Two set-up commands for a fresh machine (see README): `make demo` and `make test`.
# Each creates .venv itself. torch is installed first and pinned, so a CPU-only machine gets the
# CPU build instead of several GB of CUDA packages; the package itself only asks for a range.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install "$(TORCH)"
	$(PY) -m pip install -e ".[test]"
	touch $@

demo: install
	$(VENV)/bin/kmb quickstart --workspace demo-workspace

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its module
# fixtures (the quickstart run, the fault suite's workspaces) are built once.
test: install
	$(PY) -m pytest -n auto --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo-workspace
