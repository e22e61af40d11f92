#!/usr/bin/env bash
# The deterrence API under load, against a trivial route of the same server, in one run;
# then a list reload under load: how long a new 50,000-term version takes to import and be
# swapped in, and whether any request failed meanwhile.
#
#   bash bench/api.sh          (BENCH_DURATION=10s BENCH_CONNECTIONS=32 BENCH_TERMS=50000)
#
# Lists are invented terms generated here; nothing real is used or kept.
set -euo pipefail
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
TERMS="${BENCH_TERMS:-50000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/reachline"
log() { printf '[api-bench] %s\n' "$*" >&2; }
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
(cd "$ROOT" && cargo build --release >&2)

TMP="$(mktemp -d -t reachline-api-bench.XXXXXX)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
DATA="$TMP/data"

gen_terms() { # n seed -> keywords CSV of invented terms
    python3 - "$1" "$2" <<'PY'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
syll = ["blu", "pin", "ap", "qui", "har", "bour", "zeb", "fig", "mo", "ra", "tel", "vo", "ki", "sen", "dar", "lo"]
print("term,category,match,language")
seen = set()
while len(seen) < n:
    t = "".join(rng.choice(syll) for _ in range(rng.randint(3, 5))) + str(rng.randint(0, 99))
    if t not in seen:
        seen.add(t)
        print(f"{t},invented,{rng.choice(['word', 'word', 'substring'])},en")
PY
}
gen_terms "$TERMS" 1 > "$TMP/terms1.csv"
gen_terms "$TERMS" 2 > "$TMP/terms2.csv"
"$BIN" lists import --data-dir "$DATA" --kind keywords --name invented "$TMP/terms1.csv" >&2
KEY="$("$BIN" partners add --data-dir "$DATA" bench | tail -1)"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
REACHLINE_LOG_FILTER="warn,reachline_app::deterrence=info" REACHLINE_DETERRENCE_REQUESTS_PER_SECOND=100000000 REACHLINE_DETERRENCE_BURST=100000000 \
    "$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" > "$TMP/out.log" 2> "$TMP/err.log" &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"

cat > "$TMP/check.lua" <<LUA
local queries = {"where can i find blupinap12 pictures", "weather in leeds tomorrow", "quiet harbour walks", "b.l.u.e p-i-n-e", "recipe for apple pie", "zebfigmo7 video", "how to fix a bike chain", "кошка и собака"}
local i = 0
request = function()
  i = i + 1
  local body = '{"query": "' .. queries[(i % #queries) + 1] .. '"}'
  return wrk.format("POST", "/api/v1/check", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $KEY"}, body)
end
LUA
rps() { grep -E '^Requests/sec' | awk '{print $2}'; }
errors() { grep -E 'Non-2xx|Socket errors' || true; }

log "warm-up"
wrk -t2 -c"$CONNECTIONS" -d2s -s "$TMP/check.lua" "$BASE" >/dev/null
log "trivial route /healthz"
TRIVIAL="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$BASE/healthz" | rps)"
log "POST /api/v1/check (${TERMS}-term list)"
OUT="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$TMP/check.lua" "$BASE")"
API="$(echo "$OUT" | rps)"
echo "$OUT" | errors >&2

log "reload under load: importing a new ${TERMS}-term version while checking"
wrk -t2 -c"$CONNECTIONS" -d15s -s "$TMP/check.lua" "$BASE" > "$TMP/reload-wrk.txt" &
WRK=$!
sleep 2
T0=$(date +%s.%N)
"$BIN" lists import --data-dir "$DATA" --kind keywords --name invented "$TMP/terms2.csv" >&2
T1=$(date +%s.%N)
# The server swaps on its next housekeeping tick (every 10 s); wait for its log line.
for _ in $(seq 1 150); do
    [ "$(grep -c 'deterrence lists loaded' "$TMP/err.log" || true)" -ge 2 ] && break
    sleep 0.1
done
wait "$WRK"
FAILED="$(grep -E 'Non-2xx|Socket errors' "$TMP/reload-wrk.txt" || echo "none")"

python3 - "$TRIVIAL" "$API" "$T0" "$T1" "$FAILED" <<'PY'
import sys
trivial, api, t0, t1, failed = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"trivial route (/healthz):   {trivial:12.0f} requests/s")
print(f"POST /api/v1/check:         {api:12.0f} requests/s")
print(f"ratio api/trivial:          {api / trivial:12.2f}   (goal >= 0.50)")
print(f"import of a new version:    {t1 - t0:12.2f} s       (goal < 1 s; the server swaps it in on its next tick)")
print(f"requests failed in reload:  {failed}")
PY
