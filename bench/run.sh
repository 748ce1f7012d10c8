#!/usr/bin/env bash
# The store/engine benchmark against DuckDB: builds the release binary, makes a venv
# with DuckDB, and runs bench/bench.py (pass its options through, e.g. --rows 1000000).
# Results: printed, and in target/bench/report.md and report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p clickhunt
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install --quiet 'duckdb==2.0.1'
exec "$venv/bin/python" bench/bench.py "$@"
