#!/usr/bin/env bash
# Times the annual area report over 1,000,000 contact records and five years of daily
# counters, on SQLite and on PostgreSQL, and prints both times and their ratio.
# See bench/README.md. Settings: BENCH_CONTACTS, BENCH_PG_URL, BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_PG_URL="${BENCH_PG_URL-postgres://postgres@127.0.0.1:5432/test}"
if [ -n "$BENCH_PG_URL" ] && command -v pg_isready >/dev/null; then
  host=$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#' <<<"$BENCH_PG_URL")
  pg_isready -q -h "$host" || { echo "PostgreSQL at $BENCH_PG_URL is not ready (BENCH_PG_URL= to skip it)" >&2; exit 1; }
fi
cargo build --release --example report-bench
exec ./target/release/examples/report-bench
