#!/usr/bin/env bash
# The deterrence API under load, against a trivial route of the same server, in alternating
# rounds of one run; then a list reload under a steady load: how long a new 50,000-term
# version takes to go live, and whether any request failed or was slowed meanwhile.
#
#   bash bench/api.sh   (BENCH_DURATION=10s BENCH_CONNECTIONS=32 BENCH_TERMS=50000 BENCH_ROUNDS=3
#                        RELOAD_RATE=1000 RELOAD_SECONDS=10)
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
echo "zebfignewterm,invented,word,en" >> "$TMP/terms2.csv"  # only the new version has it
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
ROUNDS="${BENCH_ROUNDS:-3}"
: > "$TMP/rounds"
for r in $(seq 1 "$ROUNDS"); do
    log "round $r/$ROUNDS: trivial route /healthz, then POST /api/v1/check (${TERMS}-term list)"
    TRIVIAL="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$BASE/healthz" | rps)"
    OUT="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$TMP/check.lua" "$BASE")"
    echo "$OUT" | errors >&2
    echo "$TRIVIAL $(echo "$OUT" | rps)" >> "$TMP/rounds"
done

python3 - "$TMP/rounds" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
ratios = [a / t for t, a in rows]
print(f"trivial route (/healthz):   {statistics.median(t for t, _ in rows):12.0f} requests/s (median of {len(rows)} rounds)")
print(f"POST /api/v1/check:         {statistics.median(a for _, a in rows):12.0f} requests/s")
print(f"ratio api/trivial:          {statistics.median(ratios):12.2f}   (median of the rounds' ratios, {min(ratios):.2f} to {max(ratios):.2f}; goal >= 0.90: {'met' if statistics.median(ratios) >= 0.9 else 'NOT met'})")
PY

log "reload under load: ${RELOAD_RATE:-1000} checks/s, a new ${TERMS}-term version imported meanwhile"
python3 "$ROOT/bench/reload_load.py" "$BASE" "$KEY" "${RELOAD_RATE:-1000}" "${RELOAD_SECONDS:-10}" zebfignewterm \
    "$BIN" lists import --data-dir "$DATA" --kind keywords --name invented "$TMP/terms2.csv"
