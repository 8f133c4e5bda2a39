# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz lint bench bench-scale soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/repairbot demo

test: $(STAMP)
	$(BIN)/pytest

# The conversation property test with many more random walks (and no fixed seed); FUZZ_EXAMPLES sets how many.
FUZZ_EXAMPLES ?= 400
fuzz: $(STAMP)
	REPAIRBOT_HYPOTHESIS_PROFILE=fuzz REPAIRBOT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest tests/test_conversation_properties.py -s

lint: $(STAMP)
	$(BIN)/ruff check bot core devtools dialogs models workers tests
	$(BIN)/mypy bot core devtools dialogs models workers
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.webhook

# The whole service for SOAK_MINUTES (default 30) at half its measured peak: real PostgreSQL and Redis
# (SOAK_DATABASE_URL, SOAK_REDIS_URL; both emptied), gunicorn, RQ workers, WeChat's API faked with 100 ms latency.
soak: $(STAMP)
	$(BIN)/python -m tests.benchmarks.soak

# Issue 16's figures at scale (tests/benchmarks/scale/): one `scale: NAME VALUE UNIT bar OP LIMIT ok|SHORT` line
# each; SCALE_TICKETS sets the size of the data (default 1000000).
bench-scale: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_scale

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis
