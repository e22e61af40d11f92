#!/usr/bin/env bash
# Live chat under load: N help-seekers and M practitioners on WebSockets against the release
# server, a steady message rate; prints delivery latency p50/p99 (timed from each message's
# scheduled send time) against a bare WebSocket round trip measured in the same run, and the
# server's memory per idle connection.
#
#   bash bench/chat.sh   (BENCH_SEEKERS=20000 BENCH_PRACTITIONERS=300 BENCH_PER_PRACTITIONER=67
#                         BENCH_RATE=2000 BENCH_SECONDS=20)
#
# The defaults put every help-seeker in an active chat (300 x 67 >= 20,000).
# On SQLite by default. BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test runs it on
# PostgreSQL instead, in a database of its own that is created here and dropped afterwards;
# add BENCH_INSTANCES=2 for two instances on that database (help-seekers on the first,
# practitioners on the second: every message crosses between them).
#
# A measurement, not a test: exits 0 whatever the figures, non-zero only if it could not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/reachline"
LOAD="$ROOT/target/release/examples/chat-load"
INSTANCES="${BENCH_INSTANCES:-1}"
SEEKERS="${BENCH_SEEKERS:-20000}"
PRACTITIONERS="${BENCH_PRACTITIONERS:-300}"
PER="${BENCH_PER_PRACTITIONER:-67}"
log() { printf '[chat-bench] %s\n' "$*" >&2; }
(cd "$ROOT" && cargo build --release --bin reachline --example chat-load >&2)
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# One process (the server, and this load tool) holds a socket per help-seeker and one per
# active chat on the practitioners' side. Where the open-files limit cannot be raised that
# far (some sandboxes cap it), run the most that fits, with every seeker still in an active
# chat, and say so.
LIMIT="$(ulimit -n)"
ACTIVE=$(( PRACTITIONERS * PER < SEEKERS ? PRACTITIONERS * PER : SEEKERS ))
if [ "$LIMIT" != unlimited ] && [ $(( SEEKERS + ACTIVE + 1000 )) -gt "$LIMIT" ]; then
    FIT=$(( (LIMIT - 1000) / 2 ))
    log "the open-files limit is $LIMIT (not raisable here): $SEEKERS help-seekers and $ACTIVE active chats need $(( SEEKERS + ACTIVE + 1000 )); running $FIT help-seekers, every one in an active chat"
    SEEKERS="$FIT"
    PER=$(( (SEEKERS + PRACTITIONERS - 1) / PRACTITIONERS ))
fi
if [ "$INSTANCES" = 2 ] && [ -z "${BENCH_POSTGRES_URL:-}" ]; then
    log "BENCH_INSTANCES=2 needs BENCH_POSTGRES_URL (instances share a PostgreSQL database)"; exit 2
fi

TMP="$(mktemp -d -t reachline-chat-bench.XXXXXX)"
PID=""
PID2=""
DB_URL=""
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    DB_NAME="reachline_chat_bench_$$"
    psql -q "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $DB_NAME" >&2
    DB_URL="${BENCH_POSTGRES_URL%/*}/$DB_NAME"
fi
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    [ -n "$PID2" ] && kill "$PID2" 2>/dev/null
    wait 2>/dev/null
    # What the servers logged (at warn and above): how many lines, and the first few.
    for f in "$TMP"/*.log; do
        [ -s "$f" ] || continue
        log "$(basename "$f"): $(wc -l < "$f") lines logged; the first:"
        head -n 5 "$f" >&2
    done
    rm -rf "$TMP"
    if [ -n "$DB_URL" ]; then psql -q "$BENCH_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB_NAME" >&2 || true; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() { # data-dir port key-file log-prefix
    REACHLINE_DATABASE_URL="$DB_URL" \
    REACHLINE_STORAGE_MASTER_KEY_FILE="$3" \
    REACHLINE_LOG_FILTER=warn \
    REACHLINE_HELPLINE_OPENING_HOURS="mon-sun 00:00-24:00" \
    REACHLINE_HELPLINE_CHAT_MAX_PER_PRACTITIONER="$PER" \
    REACHLINE_HELPLINE_CHAT_QUEUE_TIMEOUT_MINUTES=600 \
    REACHLINE_HELPLINE_MAX_WAITING_CHATS=1000000 \
        "$BIN" serve --data-dir "$1" --listen "127.0.0.1:$2" > "$TMP/$4.out.log" 2> "$TMP/$4.err.log" &
}
wait_up() { for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return; sleep 0.1; done; log "server on $1 did not start"; exit 1; }
DATA="$TMP/data"
PORT="$(free_port)"
serve "$DATA" "$PORT" "" one
PID=$!
wait_up "$PORT"
EXTRA=()
if [ "$INSTANCES" = 2 ]; then
    PORT2="$(free_port)"
    serve "$TMP/data2" "$PORT2" "$DATA/master.key" two
    PID2=$!
    wait_up "$PORT2"
    EXTRA=(--base2 "http://127.0.0.1:$PORT2")
fi
log "server pid $PID on port $PORT ($([ -n "$DB_URL" ] && echo PostgreSQL || echo SQLite))${PID2:+, second instance pid $PID2 on port ${PORT2:-}}"
"$LOAD" --base "http://127.0.0.1:$PORT" "${EXTRA[@]}" --data-dir "$DATA" --database-url "$DB_URL" --pid "$PID" \
    --seekers "$SEEKERS" --practitioners "$PRACTITIONERS" \
    --per-practitioner "$PER" --rate "${BENCH_RATE:-2000}" \
    --seconds "${BENCH_SECONDS:-20}"
for f in "$TMP"/*.err.log; do
    if grep -qiE "error|panic" "$f"; then log "server errors ($(basename "$f")):"; grep -iE "error|panic" "$f" | head -5 >&2; fi
done
