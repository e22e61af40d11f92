#!/usr/bin/env bash
# Real users under attack: legitimate journeys (resume with the right return code, start a
# chat and be told a fair queue place, staff sign-in with password + TOTP, request a
# callback) at a steady rate, first alone (baseline), then while attackers flood the server
# (wrong codes, chats never opened, wrong sign-ins, callback floods, slow-header
# connections), then alone again after a cooldown. Prints success and latency per journey
# in each phase, what the attackers got, and the server's memory.
#
#   bash bench/flood.sh   (BENCH_SECONDS=15 BENCH_RATE=200 BENCH_SIGNIN_RATE=1000
#                          BENCH_ATTACKERS=64 BENCH_SLOW=500 BENCH_COOLDOWN=75
#                          BENCH_STAFF=40 BENCH_WORKBOOKS=20)
#
# On SQLite, in a fresh temp data directory. Two and a half to three minutes with the
# defaults once built.
#
# A measurement, not a test: exits 0 whatever the figures, non-zero only if it could not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/reachline"
LOAD="$ROOT/target/release/examples/flood-load"
log() { printf '[flood-bench] %s\n' "$*" >&2; }
(cd "$ROOT" && cargo build --release --bin reachline --example flood-load >&2)
# Slow-header connections and fresh clients need file descriptors on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TMP="$(mktemp -d -t reachline-flood-bench.XXXXXX)"
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
DATA="$TMP/data"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The server and the load tool (which creates staff accounts as `admin create` does) read
# the same settings.
export REACHLINE_LOG_FILTER=warn
export REACHLINE_HELPLINE_OPENING_HOURS="mon-sun 00:00-24:00"
"$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" > "$TMP/out.log" 2> "$TMP/err.log" &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { log "the server did not start:"; cat "$TMP/err.log" >&2; exit 1; }
log "server pid $PID on port $PORT (SQLite)"
"$LOAD" --base "http://127.0.0.1:$PORT" --data-dir "$DATA" --pid "$PID" \
    --seconds "${BENCH_SECONDS:-15}" --after-seconds "${BENCH_AFTER_SECONDS:-${BENCH_SECONDS:-15}}" \
    --rate-ms "${BENCH_RATE:-200}" --signin-ms "${BENCH_SIGNIN_RATE:-1000}" \
    --attackers "${BENCH_ATTACKERS:-64}" --slow "${BENCH_SLOW:-500}" \
    --cooldown "${BENCH_COOLDOWN:-75}" --staff "${BENCH_STAFF:-40}" \
    --workbooks "${BENCH_WORKBOOKS:-20}" --clk-tck "$(getconf CLK_TCK)"
kill -0 "$PID" 2>/dev/null || { log "the server died during the run:"; tail -20 "$TMP/err.log" >&2; exit 1; }
if grep -qiE "error|panic" "$TMP/err.log"; then
    log "server errors ($(grep -ciE "error|panic" "$TMP/err.log") lines), the first:"
    grep -iE "error|panic" "$TMP/err.log" | head -5 >&2
fi
