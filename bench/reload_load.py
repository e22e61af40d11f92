"""Checks at a steady rate against a running Reachline, first alone (the baseline), then
while a new version of a 50,000-term list is imported by another process: how long until
the new version answers, and how many requests failed or were slowed (> 2x the baseline's
p99) meanwhile. Latency is timed from each request's scheduled send time. Run by
bench/api.sh.

    python3 reload_load.py BASE KEY RATE SECONDS NEW_TERM IMPORT_COMMAND...
"""
import http.client
import json
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

base, key, rate, seconds, new_term = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
import_command = sys.argv[6:]
url = urlparse(base)
QUERIES = ["weather in leeds tomorrow", "where can i find blupinap12 pictures", "quiet harbour walks",
           "recipe for apple pie", "how to fix a bike chain", "кошка и собака"]
THREADS = 8


def run(duration, probe_new=False):
    """RATE requests/s for `duration` s over THREADS keep-alive connections. Returns
    [(scheduled offset, latency s, ok, matched new term)]."""
    start = time.perf_counter() + 0.2
    out, lock = [], threading.Lock()
    total = int(rate * duration)

    def worker(w):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        mine = []
        for n in range(w, total, THREADS):
            scheduled = start + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            # Every tenth request asks for the term only the new version has.
            new = probe_new and n % 10 == 0
            body = json.dumps({"query": f"{new_term} video" if new else QUERIES[n % len(QUERIES)]})
            ok, matched = False, False
            try:
                conn.request("POST", "/api/v1/check", body,
                             {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == 200
                matched = new and ok and json.loads(data).get("match") is True
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            mine.append((scheduled - start, time.perf_counter() - scheduled, ok, matched))
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    return start, threads, out


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


start, threads, base_results = run(seconds)
for t in threads:
    t.join()
base_p99 = pct([r[1] for r in base_results if r[2]], 0.99)
base_failed = sum(1 for r in base_results if not r[2])

start, threads, results = run(seconds, probe_new=True)
time.sleep(2)
t0 = time.perf_counter()
subprocess.run(import_command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t1 = time.perf_counter()
for t in threads:
    t.join()
live = sorted(r[0] + start for r in results if r[3])
first_live = next((x for x in live if x >= t0), None)
failed = sum(1 for r in results if not r[2])
slowed = sum(1 for r in results if r[2] and r[1] > 2 * base_p99)
p99 = pct([r[1] for r in results if r[2]], 0.99)
print(f"steady load: {rate} checks/s for {seconds:.0f} s, latency from the scheduled send time")
# The probe's own noise: requests of the run without a reload over twice that run's p99.
base_slowed = sum(1 for r in base_results if r[2] and r[1] > 2 * base_p99)
print(f"  without a reload: {len(base_results)} requests, {base_failed} failed, p99 {base_p99 * 1000:.1f} ms, "
      f"{base_slowed} over twice that (the probe's own noise)")
print(f"  with a reload:    {len(results)} requests, {failed} failed, p99 {p99 * 1000:.1f} ms, "
      f"{slowed} slowed (> 2x the baseline p99, {2 * base_p99 * 1000:.1f} ms)")
print(f"  import of the new version (another process): {t1 - t0:.2f} s")
if first_live is None:
    print("  the new version was NOT seen live during the run")
else:
    print(f"  new version live {first_live - t1:.2f} s after the import ended ({first_live - t0:.2f} s after it began)"
          f"; goal < 1 s: {'met' if first_live - t1 < 1 else 'NOT met'}")
# When the slowed requests were due: before the import, while it ran (another process on the
# same cores), while the server rebuilt its matchers, in the first second of the new version
# (the old one let go of, the new one's tables not yet in the cache), or later.
live_at = first_live if first_live is not None else float("inf")
marks = [("before the import", t0), ("during the import", t1),
         ("import ended to live", live_at), ("first second live", live_at + 1),
         ("later", float("inf"))]
phases = {name: 0 for name, _ in marks}
for r in results:
    if r[2] and r[1] > 2 * base_p99:
        due = r[0] + start
        phases[next(name for name, end in marks if due < end)] += 1
print("  slowed by phase: " + ", ".join(f"{name} {n}" for name, n in phases.items()))
print(f"  failed or slowed during the reload: {failed + slowed}; goal 0: {'met' if failed + slowed == 0 else 'NOT met'}")
