# The two commands of the README: `make demo` and `make test`. Both set up what they need first.
.PHONY: setup demo test bench lint

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/bijia demo

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python -m benchmarks

lint: setup
	.venv/bin/ruff check .
