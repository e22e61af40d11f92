#!/usr/bin/env bash
# Live chat under load: N help-seekers and M practitioners on WebSockets against the release
# server, a steady message rate; prints delivery latency p50/p99 against a bare WebSocket
# round trip measured in the same run, and the server's memory per idle connection.
#
#   bash bench/chat.sh   (BENCH_SEEKERS=5000 BENCH_PRACTITIONERS=100 BENCH_PER_PRACTITIONER=5
#                         BENCH_RATE=500 BENCH_SECONDS=20)
#
# On SQLite by default. BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test runs it on
# PostgreSQL instead, in a database of its own that is created here and dropped afterwards.
#
# A measurement, not a test: exits 0 whatever the figures, non-zero only if it could not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/reachline"
LOAD="$ROOT/target/release/examples/chat-load"
log() { printf '[chat-bench] %s\n' "$*" >&2; }
(cd "$ROOT" && cargo build --release --bin reachline --example chat-load >&2)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TMP="$(mktemp -d -t reachline-chat-bench.XXXXXX)"
PID=""
DB_URL=""
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    DB_NAME="reachline_chat_bench_$$"
    psql -q "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $DB_NAME" >&2
    DB_URL="${BENCH_POSTGRES_URL%/*}/$DB_NAME"
fi
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
    if [ -n "$DB_URL" ]; then psql -q "$BENCH_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB_NAME" >&2 || true; fi
}
trap cleanup EXIT
DATA="$TMP/data"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
REACHLINE_DATABASE_URL="$DB_URL" \
REACHLINE_LOG_FILTER=warn \
REACHLINE_HELPLINE_OPENING_HOURS="mon-sun 00:00-24:00" \
REACHLINE_HELPLINE_CHAT_MAX_PER_PRACTITIONER="${BENCH_PER_PRACTITIONER:-5}" \
REACHLINE_HELPLINE_CHAT_QUEUE_TIMEOUT_MINUTES=600 \
    "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" > "$TMP/out.log" 2> "$TMP/err.log" &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
log "server pid $PID on port $PORT ($([ -n "$DB_URL" ] && echo PostgreSQL || echo SQLite))"
"$LOAD" --base "http://127.0.0.1:$PORT" --data-dir "$DATA" --database-url "$DB_URL" --pid "$PID" \
    --seekers "${BENCH_SEEKERS:-5000}" --practitioners "${BENCH_PRACTITIONERS:-100}" \
    --per-practitioner "${BENCH_PER_PRACTITIONER:-5}" --rate "${BENCH_RATE:-500}" \
    --seconds "${BENCH_SECONDS:-20}"
if grep -qiE "error|panic" "$TMP/err.log"; then log "server errors:"; grep -iE "error|panic" "$TMP/err.log" | head -5 >&2; fi
