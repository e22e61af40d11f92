#!/usr/bin/env bash
# PDQ lookups at distance <= 31: Reachline's multi-index against brute force (hardware
# popcount) and against FAISS's binary flat and multi-hash indexes, on the same hashes and
# queries, in one run, one core each. Random and clustered hashes, 100k, 1M and 10M.
#
#   bash bench/pdq.sh     (BENCH_SIZES="100000 1000000 10000000" BENCH_KINDS="random clustered"
#                          BENCH_QUERIES=2000 BENCH_ROUNDS=5 BENCH_FAISS_MULTIHASH_MAX=1000000)
#
# Hashes are generated here (no real list is used or kept).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${BENCH_SIZES:-100000 1000000 10000000}"
KINDS="${BENCH_KINDS:-random clustered}"
QUERIES="${BENCH_QUERIES:-2000}"
ROUNDS="${BENCH_ROUNDS:-5}"
MH_MAX="${BENCH_FAISS_MULTIHASH_MAX:-1000000}"
VENV="$ROOT/target/faiss-venv"
log() { printf '[pdq-bench] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import faiss, numpy' 2>/dev/null; then
    log "installing faiss-cpu and numpy from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q faiss-cpu numpy >&2
fi
# The index and the brute-force baseline are one binary, built with the processor's own
# features (popcount, AVX2), as the FAISS wheel is (its AVX2 build is loaded on this CPU).
export RUSTFLAGS="-C target-cpu=native"
log "building pdq-bench with RUSTFLAGS=\"$RUSTFLAGS\" (target/bench-native)"
(cd "$ROOT" && CARGO_TARGET_DIR="$ROOT/target/bench-native" cargo build -q --release -p reachline-matcher --example pdq-bench >&2)
BIN="$ROOT/target/bench-native/release/examples/pdq-bench"

TMP="$(mktemp -d -t reachline-pdq-bench.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "rust: $(rustc --version); RUSTFLAGS=\"$RUSTFLAGS\"; enabled: $(rustc --print cfg -C target-cpu=native | grep -oE 'target_feature="(popcnt|avx2|avx512vpopcntdq|bmi2)"' | sed 's/target_feature=//; s/"//g' | tr '\n' ' ')"
echo "faiss: $("$VENV/bin/python" -c 'import faiss; print(faiss.__version__, faiss.get_compile_options().strip())'), omp threads 1"
: > "$TMP/results"
for n in $SIZES; do
    for kind in $KINDS; do
        scan=$(( 1000000000 / n )); [ "$scan" -gt "$QUERIES" ] && scan="$QUERIES"; [ "$scan" -lt 50 ] && scan=50
        log "$kind $n: Reachline index and brute force ($scan queries for brute force)"
        "$BIN" --kind "$kind" --hashes "$n" --queries "$QUERIES" --scan-queries "$scan" --rounds "$ROUNDS" --dir "$TMP" | tee -a "$TMP/results" | grep -v '^RESULT' >&2
        log "$kind $n: FAISS"
        (cd "$TMP" && "$VENV/bin/python" "$ROOT/bench/pdq_faiss.py" "$TMP" "$scan" "$ROUNDS" "$MH_MAX") | tee -a "$TMP/results" >/dev/null
    done
done

python3 - "$TMP/results" <<'PY'
import json, sys
rows, ours = [], None
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        ours = json.loads(line[7:])
    elif line.startswith("FAISS "):
        rows.append((ours, json.loads(line[6:])))
print()
print("PDQ lookups at distance <= 31, one core; lookups/s are medians over rounds (spread in brackets)")
print(f"{'data':<10}{'hashes':>10} {'reachline/s':>12} {'p99 µs':>8} {'brute/s':>9} {'x brute':>18} {'faiss flat/s':>13} {'faiss multi-hash/s (config, recall)':>38} {'x faiss-mh':>10} {'bytes/hash':>10}")
for o, f in rows:
    mh = max(f["multihash"], key=lambda m: m["qps"]) if f["multihash"] else None
    mh_txt = f"{mh['qps']:.0f} ({mh['nhash']}x{mh['b']} flip {mh['nflip']}, {mh['recall']:.3f})" if mh else "not run (size)"
    vs = f"{o['index_qps'] / mh['qps']:.1f}x" if mh else "-"
    print(f"{o['kind']:<10}{o['n']:>10} {o['index_qps']:>12.0f} {o['p99_us']:>8.0f} {o['scan_qps']:>9.1f} "
          f"{o['ratio']:>7.1f}x ({o['ratio_min']:.0f}-{o['ratio_max']:.0f}) {f['flat']['qps']:>13.1f} {mh_txt:>38} {vs:>10} {o['heap_bytes'] / o['n']:>10.0f}")
    if f["flat"]["recall"] != 1.0 or f["flat"]["extra"]:
        print(f"  !! FAISS flat disagrees with Reachline: recall {f['flat']['recall']}, extra {f['flat']['extra']}")
print()
print("ratio reachline/brute force, brute force = the same code's scan built with the same flags;")
print("FAISS flat = FAISS's exact scan (its results equal Reachline's where recall is 1.000 and nothing extra).")
def goal(ok): return "met" if ok else "NOT met"
for o, f in rows:
    if o["n"] == 1000000:
        mh = max(f["multihash"], key=lambda m: m["qps"]) if f["multihash"] else None
        print(f"goals at 1M {o['kind']}: >= 100x brute force: {o['ratio']:.1f}x {goal(o['ratio'] >= 100)}; p99 < 100 µs: {o['p99_us']:.0f} µs {goal(o['p99_us'] < 100)}"
              + (f"; faster than FAISS multi-hash at equal recall ({mh['recall']:.3f}): {o['index_qps'] / mh['qps']:.1f}x {goal(o['index_qps'] > mh['qps'] and mh['recall'] == 1.0)}" if mh else ""))
    if o["n"] == 10000000:
        gib = o["heap_bytes"] / 2**30
        print(f"goals at 10M {o['kind']}: >= 10k lookups/s: {o['index_qps']:.0f}/s {goal(o['index_qps'] >= 10000)}; < 0.5 GiB: {gib:.2f} GiB {goal(gib < 0.5)}")
PY
