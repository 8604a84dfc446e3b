# Two entry points (see README): `make demo` and `make test`.
# Both bootstrap their own virtual environment from the pinned lock file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench screenshots clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m compileall -q src/mescc  # bytecode now: a start never compiles the package
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mescc assess examples/intermediate_breast.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# scripts/services.sh installs (Debian packages) and starts PostgreSQL on loopback and
# Chromium for the browser test when they are missing; its last line is the test database URL.
test: $(STAMP) lint typecheck
	MESCC_TEST_POSTGRES_URL="$$(bash scripts/services.sh | tail -n 1)" $(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# docs/screenshots/{result-desktop,result-mobile,form}.png for the README (Debian's chromium,
# installed by scripts/services.sh); the tests never write tracked files.
screenshots: $(STAMP)
	bash scripts/services.sh >/dev/null
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
