"""payram's benchmarks: `bin/bench` (or `.venv/bin/python -m bench`); see bench/README.md."""
