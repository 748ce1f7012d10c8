#!/usr/bin/env bash
# Generator throughput to Parquet (issue 3 asks for at least 1 million rows/s): the
# release binary writes linked EmailEvents, EmailUrlInfo and UrlClickEvents for N clicks,
# three times; each run prints its rows/s (all tables' rows over wall time).
#
# Usage: bench/generate.sh [clicks, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
cargo build --release -q -p clickhunt
OUT=$(mktemp -d "$PWD/target/bench-generate.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
for run in 1 2 3; do
  rm -rf "$OUT/parquet"
  target/release/clickhunt generate --rows "$ROWS" --seed 1 --end 2026-07-20T00:00:00Z \
    --days 30 --format parquet --out "$OUT/parquet" 2>&1 | grep 'rows/s'
done
