#!/usr/bin/env bash
# The annual area report over 10,000,000 contact records and five years of daily counters,
# on SQLite and on PostgreSQL, timed cold: seeded in one process, then the database is
# restarted (PostgreSQL) and the OS page cache dropped (when this runs as root), and the
# report is timed in a fresh process. See bench/README.md.
# Settings: BENCH_CONTACTS (10000000), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test;
# empty to skip PostgreSQL), BENCH_RUNS (5: the cold report, then warm ones).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL="${BENCH_PG_URL-postgres://postgres@127.0.0.1:5432/test}"
log() { printf '[report-bench] %s\n' "$*" >&2; }
if [ -n "$PG_URL" ] && command -v pg_isready >/dev/null; then
  host=$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#' <<<"$PG_URL")
  pg_isready -q -h "$host" || { echo "PostgreSQL at $PG_URL is not ready (BENCH_PG_URL= to skip it)" >&2; exit 1; }
fi
cargo build --release --example report-bench >&2
B=./target/release/examples/report-bench
TMP="$(mktemp -d -t reachline-report-bench.XXXXXX)"
SCHEMA="bench_report_$$"
cleanup() {
  rm -rf "$TMP"
  if [ -n "$PG_URL" ]; then "$B" drop postgres "$PG_URL" "$SCHEMA" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
drop_caches() {
  sync
  if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then log "OS page cache dropped"; COLD="page cache dropped"
  else log "cannot drop the OS page cache (not root): the database files may still be in memory"; COLD="page cache NOT dropped"; fi
}
restart_postgres() {
  if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
    read -r ver name _ < <(pg_lsclusters -h | grep online | head -1)
    pg_ctlcluster "$ver" "$name" restart && log "PostgreSQL $ver/$name restarted" && return
  fi
  if command -v service >/dev/null && service postgresql restart >/dev/null 2>&1; then log "PostgreSQL restarted"; return; fi
  log "could not restart PostgreSQL: its buffers may still be warm"
}
wait_pg() { for _ in $(seq 1 100); do pg_isready -q -h "$host" && return; sleep 0.2; done; }

log "sqlite: seeding"
"$B" seed sqlite "$TMP/reachline.db"
drop_caches
"$B" time sqlite "$TMP/reachline.db" | tee "$TMP/sqlite.txt"
echo "  (cold: a fresh process; $COLD)"
if [ -n "$PG_URL" ]; then
  log "postgresql: seeding (schema $SCHEMA)"
  "$B" seed postgres "$PG_URL" "$SCHEMA"
  restart_postgres; wait_pg
  drop_caches
  "$B" time postgres "$PG_URL" "$SCHEMA" | tee "$TMP/pg.txt"
  echo "  (cold: a fresh process after a restart of PostgreSQL; $COLD)"
  s=$(grep -oE 'cold_ms=[0-9]+' "$TMP/sqlite.txt" | cut -d= -f2); p=$(grep -oE 'cold_ms=[0-9]+' "$TMP/pg.txt" | cut -d= -f2)
  python3 -c "import sys; s,p=int(sys.argv[1]),int(sys.argv[2]); print(f'ratio postgresql/sqlite (cold): {p/s:.2f}; goal under 1000 ms each: ' + ('met' if max(s,p)<1000 else 'NOT met'))" "$s" "$p"
fi
