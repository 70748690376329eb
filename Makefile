# The two commands of the README: `make demo` and `make test`. Both set up what they need first.
.PHONY: setup demo test test-fast lint format bench

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/bijia demo

# lint (ruff check, format check, mypy), then the whole test suite; .ci/run calls exactly this
test: setup lint
	.venv/bin/python -m pytest -q

# the inner loop: no real browser, nothing marked slow
test-fast: setup
	.venv/bin/python -m pytest -q -m "not slow and not browser"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup
	.venv/bin/python -m benchmarks
