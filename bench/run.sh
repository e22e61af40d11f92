#!/usr/bin/env bash
# Throughput of one Reachline page compared with nginx serving the same bytes as a static file.
#
#   bash bench/run.sh
#
# Environment (all optional):
#   BENCH_DURATION     wrk duration of each measured run   (default 10s)
#   BENCH_THREADS      wrk threads                         (default 2)
#   BENCH_CONNECTIONS  wrk connections                     (default 32)
#   BENCH_WARMUP       unmeasured warm-up before each run  (default 2s; 0 to skip)
#   BENCH_PATH         page to measure                     (default /modules/making-a-personal-plan/1)
#   BENCH_SETTLE       seconds to wait for other work on the machine to finish (default 120)
#   BENCH_ROUNDS       rounds of (reachline, nginx); the ratio is the median  (default 3)
#
# It is a measurement, not a test: it exits 0 whatever the ratio, and non-zero only when it
# could not measure (build failed, a server did not start, the page was not 200).
set -euo pipefail

DURATION="${BENCH_DURATION:-10s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
WARMUP="${BENCH_WARMUP:-2s}"
PAGE_PATH="${BENCH_PATH:-/modules/making-a-personal-plan/1}"
SETTLE="${BENCH_SETTLE:-120}"
GOAL="0.90"
ROUNDS="${BENCH_ROUNDS:-3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/reachline"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------------------
need_pkg() { # command, debian package
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
        log "$1 not found; installing Debian package $2"
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
        else
            sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
        fi
    fi
}
need_pkg /usr/sbin/nginx nginx-light
need_pkg wrk wrk
need_pkg curl curl
NGINX=/usr/sbin/nginx

# --- cleanup -------------------------------------------------------------------------------
TMP=""
BUILD_PID=""
WRK_PID=""
RL_PID=""
NGX_PID=""
alive() { # running, not merely a zombie waiting to be reaped
    kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}
cleanup() {
    local rc=$?
    if [ -n "$BUILD_PID" ]; then
        kill -TERM -- "-$BUILD_PID" 2>/dev/null || kill -TERM "$BUILD_PID" 2>/dev/null || true
    fi
    for pid in "$BUILD_PID" "$WRK_PID" "$RL_PID" "$NGX_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "$BUILD_PID" "$WRK_PID" "$RL_PID" "$NGX_PID"; do
        if [ -n "$pid" ]; then
            for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    [ -z "$TMP" ] || rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. build ------------------------------------------------------------------------------
log "cargo build --release (a no-op when up to date; may wait for another build's lock)"
# In the background and waited for, so that a signal stops it (and us) at once; in a
# process group of its own, so that stopping it stops its rustc processes too.
(cd "$ROOT" && exec setsid cargo build --release >&2) &
BUILD_PID=$!
wait "$BUILD_PID"
BUILD_PID=""
[ -x "$BIN" ] || die "no binary at $BIN after the build"

# Made after the build, which can take minutes.
TMP="$(mktemp -d -t reachline-bench.XXXXXX)"

# --- helpers -------------------------------------------------------------------------------
wait_http() { # url, pid, what
    for _ in $(seq 1 200); do
        kill -0 "$2" 2>/dev/null || return 1
        if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# One wrk run; sets RPS. wrk runs in the background and is waited for, so that a signal
# reaches the trap at once rather than after the run.
wrk_bg() { # output file, wrk args...
    local out="$1"; shift
    wrk "$@" >"$out" 2>&1 &
    WRK_PID=$!
    local rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return "$rc"
}
RPS=""
run_wrk() { # label, url
    local label="$1" url="$2" out="$TMP/wrk-$1.txt"
    if [ "$WARMUP" != "0" ] && [ "$WARMUP" != "0s" ]; then
        wrk_bg /dev/null -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" || true
    fi
    wrk_bg "$out" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" \
        || die "wrk failed for $label: $(cat "$out")"
    RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    [ -n "$RPS" ] || die "could not parse Requests/sec for $label: $(cat "$out")"
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        log "WARNING ($label): $(grep 'Non-2xx or 3xx responses' "$out" | sed 's/^ *//')"
    fi
    if grep -q 'Socket errors' "$out"; then
        log "note ($label): $(grep 'Socket errors' "$out" | sed 's/^ *//')"
    fi
    local p50 p99
    p50="$(awk '$1=="50%" {print $2}' "$out")"
    p99="$(awk '$1=="99%" {print $2}' "$out")"
    log "$(printf '%-11s %12s req/s   p50 %-9s p99 %s' "$label" "$RPS" "$p50" "$p99")"
}

# --- 2. reachline --------------------------------------------------------------------------
# Port 0: the kernel picks a free port, and Reachline announces it on stdout.
log "starting reachline (REACHLINE_LOG_FILTER=warn)"
: >"$TMP/reachline.out"   # exists before the background job opens it, for the sed below
REACHLINE_LOG_FILTER=warn "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 \
    >"$TMP/reachline.out" 2>"$TMP/reachline.err" &
RL_PID=$!
RL_PORT=""
for _ in $(seq 1 100); do
    RL_PORT="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$TMP/reachline.out" | head -n1)"
    [ -n "$RL_PORT" ] && break
    kill -0 "$RL_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$RL_PORT" ] || die "reachline did not start: $(cat "$TMP/reachline.err")"
wait_http "http://127.0.0.1:$RL_PORT/healthz" "$RL_PID" \
    || die "reachline does not answer: $(cat "$TMP/reachline.err")"
RL_URL="http://127.0.0.1:$RL_PORT$PAGE_PATH"

# --- 3. fetch the page once ----------------------------------------------------------------
DOCROOT="$TMP/www"
PAGE_FILE="$DOCROOT$PAGE_PATH"
mkdir -p "$(dirname "$PAGE_FILE")"
status="$(curl -s -o "$PAGE_FILE" -D "$TMP/reachline.headers" -w '%{http_code}' "$RL_URL")"
[ "$status" = "200" ] || die "GET $PAGE_PATH from reachline returned $status, expected 200"
PAGE_BYTES="$(wc -c <"$PAGE_FILE" | tr -d ' ')"
RL_HDR_BYTES="$(wc -c <"$TMP/reachline.headers" | tr -d ' ')"

# --- 4. nginx ------------------------------------------------------------------------------
# The workers may run as an unprivileged user: let them read the docroot.
chmod 755 "$TMP"
chmod -R a+rX "$DOCROOT"
mkdir -p "$TMP/nginx"
start_nginx() { # port
    cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/html;
    # wrk keeps connections open; do not let nginx's default limit of 1000 requests per
    # connection make it reconnect (Reachline has no such limit).
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$1;
        root $DOCROOT;
        location / { default_type text/html; }
    }
}
EOF
    "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" \
        >"$TMP/nginx/stdout" 2>&1 &
    NGX_PID=$!
}
NGX_PORT=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    candidate=$(( 20000 + RANDOM % 40000 ))
    [ "$candidate" = "$RL_PORT" ] && continue
    port_in_use "$candidate" && continue
    start_nginx "$candidate"
    if wait_http "http://127.0.0.1:$candidate$PAGE_PATH" "$NGX_PID" "nginx"; then
        NGX_PORT="$candidate"
        break
    fi
    kill -TERM "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    NGX_PID=""
done
[ -n "$NGX_PORT" ] || die "nginx did not start: $(cat "$TMP/nginx/stdout" "$TMP/nginx/error.log" 2>/dev/null)"
NGX_URL="http://127.0.0.1:$NGX_PORT$PAGE_PATH"
curl -s -o "$TMP/nginx.body" -D "$TMP/nginx.headers" "$NGX_URL"
cmp -s "$PAGE_FILE" "$TMP/nginx.body" || die "nginx does not serve the same bytes as reachline"
NGX_HDR_BYTES="$(wc -c <"$TMP/nginx.headers" | tr -d ' ')"

# --- 5. measure ----------------------------------------------------------------------------
# Client and servers share this machine's cores, so anything else running skews the figures:
# sample how busy the CPUs are (over one second, our servers idle) before and after.
cpu_busy() { # percent of all CPU time that was not idle over one second
    local a b
    a="$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)"
    sleep 1
    b="$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)"
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1];
        printf "%.0f", (t > 0) ? 100 * (1 - (y[2] - x[2]) / t) : 0 }'
}
# Other builds often start right after ours releases cargo's lock: wait a while for quiet.
BUSY_BEFORE="$(cpu_busy 2>/dev/null || echo '?')"
waited=0
while [ "$BUSY_BEFORE" != "?" ] && [ "$BUSY_BEFORE" -ge 10 ] && [ "$waited" -lt "$SETTLE" ]; do
    [ "$waited" -eq 0 ] && log "CPUs ${BUSY_BEFORE}% busy with other work; waiting up to ${SETTLE}s for quiet (BENCH_SETTLE)"
    sleep 4
    waited=$(( waited + 5 ))
    BUSY_BEFORE="$(cpu_busy 2>/dev/null || echo '?')"
done
if [ "$BUSY_BEFORE" != "?" ] && [ "$BUSY_BEFORE" -ge 10 ]; then
    log "WARNING: the CPUs are ${BUSY_BEFORE}% busy with other work; the figures will be skewed"
fi
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP each), $ROUNDS rounds of: reachline, nginx"
ROUND_LINES=""
for r in $(seq 1 "$ROUNDS"); do
    run_wrk "reachline-$r" "$RL_URL"; a="$RPS"
    run_wrk "nginx-$r" "$NGX_URL"; n="$RPS"
    run_wrk "healthz-$r" "http://127.0.0.1:$RL_PORT/healthz"; h="$RPS"
    ROUND_LINES="$ROUND_LINES$a $n $h
"
done

# --- 6. summary ----------------------------------------------------------------------------
BUSY_AFTER="$(cpu_busy 2>/dev/null || echo '?')"
read -r RL_MEAN NGX RATIO RMIN RMAX VERDICT HZ HZ_RATIO < <(printf '%s' "$ROUND_LINES" | python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
ratios = [a / n if n else 0 for a, n, _ in rows]
m = statistics.median(ratios)
hz = statistics.median(h / n if n else 0 for _, n, h in rows)
print(f"{statistics.median(a for a, _, _ in rows):.2f} {statistics.median(n for _, n, _ in rows):.2f} {m:.2f} {min(ratios):.2f} {max(ratios):.2f} " + ("met" if round(m, 2) >= float(sys.argv[1]) else "NOT-met") + f" {statistics.median(h for _, _, h in rows):.2f} {hz:.2f}")
' "$GOAL")
RL1="$(printf '%s' "$ROUND_LINES" | awk '{printf "%s%.0f", (NR>1?", ":""), $1}')"
NGXS="$(printf '%s' "$ROUND_LINES" | awk '{printf "%s%.0f", (NR>1?", ":""), $2}')"

cat <<EOF

Reachline vs nginx: $PAGE_PATH ($PAGE_BYTES bytes of HTML)
  wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores, client and servers on the same machine
  logging reduced for both: reachline REACHLINE_LOG_FILTER=warn (no per-request log line),
  nginx access_log off; nginx worker_processes auto; wrk sends no cookies, so every
  reachline response is a first visit (counted, with Set-Cookie)
  response headers: reachline $RL_HDR_BYTES bytes, nginx $NGX_HDR_BYTES bytes
  CPU busy with other work (1 s sample, servers idle): before ${BUSY_BEFORE}%, after ${BUSY_AFTER}%

  reachline            $(printf '%12.2f' "$RL_MEAN") req/s (median; rounds: $RL1)
  nginx                $(printf '%12.2f' "$NGX") req/s (median; rounds: $NGXS)

  reachline /healthz   $(printf '%12.2f' "$HZ") req/s (median; a trivial route on the same server)

  ratio reachline/nginx: $RATIO   (median of $ROUNDS rounds' ratios, $RMIN to $RMAX; goal: >= $GOAL, ${VERDICT/-/ })
  ratio /healthz/nginx:  $HZ_RATIO   (the ceiling of Reachline's HTTP stack on this machine: a route that
                                  renders nothing; the page cannot come closer to nginx than this)
EOF
exit 0
