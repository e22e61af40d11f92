"""FAISS on the very hashes and queries pdq-bench wrote: binary flat (exact brute force) and
binary multi-hash indexes, one thread, range search at distance <= 31 (FAISS keeps
distances < radius, so radius 32). Each multi-hash configuration is exact by the pigeonhole
rule (nhash * (nflip + 1) > 31), so its recall must be 1.0 -- checked against Reachline's
results, which pdq-bench checked against brute force. Prints one line `FAISS {json}`.

    python pdq_faiss.py DIR SCAN_QUERIES ROUNDS MULTIHASH_MAX
"""
import json
import statistics
import sys
import time

import faiss
import numpy as np

d, s, rounds, mh_max = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(1)
xb = np.fromfile(f"{d}/hashes.bin", dtype=np.uint8).reshape(-1, 32)
xq = np.fromfile(f"{d}/queries.bin", dtype=np.uint8).reshape(-1, 32)
raw = np.fromfile(f"{d}/results.bin", dtype="<u4")
expected, at = [], 0
for _ in range(len(xq)):
    c = int(raw[at])
    expected.append(set(raw[at + 1 : at + 1 + c].tolist()))
    at += 1 + c
n = len(xb)


def results(lims, ids, count):
    return [set(ids[lims[i] : lims[i + 1]].tolist()) for i in range(count)]


def measure(index, queries):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        lims, _, ids = index.range_search(queries, 32)
        times.append(time.perf_counter() - t)
    qps = [len(queries) / t for t in times]
    return statistics.median(qps), min(qps), max(qps), results(lims, ids, len(queries))


def recall(got, want):
    total = sum(len(w) for w in want)
    hit = sum(len(g & w) for g, w in zip(got, want))
    extra = sum(len(g - w) for g, w in zip(got, want))
    return (hit / total if total else 1.0), extra


out = {"n": n, "build": faiss.get_compile_options()}
flat = faiss.IndexBinaryFlat(256)
flat.add(xb)
qps, lo, hi, got = measure(flat, xq[:s])
r, extra = recall(got, expected[:s])
out["flat"] = {"qps": qps, "min": lo, "max": hi, "recall": r, "extra": extra}
del flat

out["multihash"] = []
if n <= mh_max:
    # (nhash, bits per hash, nflip): each exact for distance <= 31.
    for nhash, b, nflip in [(16, 16, 1), (11, 23, 2), (8, 32, 3)]:
        index = faiss.IndexBinaryMultiHash(256, nhash, b)
        index.nflip = nflip
        t = time.perf_counter()
        index.add(xb)
        build = time.perf_counter() - t
        # The slowest configurations get fewer queries, at least 200.
        probe = xq[: min(len(xq), 200)]
        t = time.perf_counter()
        index.range_search(probe, 32)
        per = (time.perf_counter() - t) / len(probe)
        q = xq[: max(200, min(len(xq), int(5.0 / max(per, 1e-9) / rounds)))]
        qps, lo, hi, got = measure(index, q)
        r, extra = recall(got, expected[: len(q)])
        out["multihash"].append(
            {"nhash": nhash, "b": b, "nflip": nflip, "queries": len(q), "build_s": build,
             "qps": qps, "min": lo, "max": hi, "recall": r, "extra": extra}
        )
        del index
print("FAISS " + json.dumps(out))
