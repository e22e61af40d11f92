//! PDQ lookups at distance ≤ 31: Reachline's multi-index against brute force, on one core,
//! on random or clustered hashes. `bench/pdq.sh` runs it for each data set and size, then
//! runs FAISS on the very files it writes, and prints the comparison.
//!
//!     pdq-bench --kind random|clustered --hashes N --queries Q --scan-queries S
//!               --rounds R --dir DIR
//!
//! Writes `DIR/hashes.bin` and `DIR/queries.bin` (32 bytes a hash, the PDQ byte order),
//! and `DIR/results.bin` (for each query: a u32 count, then that many u32 ids, little
//! endian: the index's results, which FAISS's are checked against). Prints what it
//! measured, and one line `RESULT {json}` for the summary.
//!
//! Brute force is `PdqIndex::brute_force`, the same code the service falls back to, in the
//! same binary and so built with the same CPU features as the index (bench/pdq.sh builds
//! with `-C target-cpu=native`, so both use the processor's popcount instruction; the
//! flags are printed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reachline_matcher::{PdqHash, PdqIndex};

const THRESHOLD: u32 = 31;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn words(&mut self) -> [u64; 4] {
        [self.next(), self.next(), self.next(), self.next()]
    }
    /// `w` with `k` distinct bits flipped.
    fn flip(&mut self, mut w: [u64; 4], k: usize) -> [u64; 4] {
        let mut done = [0u64; 4];
        let mut n = 0;
        while n < k {
            let bit = self.below(256);
            if done[bit / 64] & (1 << (bit % 64)) == 0 {
                done[bit / 64] |= 1 << (bit % 64);
                w[bit / 64] ^= 1 << (bit % 64);
                n += 1;
            }
        }
        w
    }
}

/// Random: uniformly random hashes; half the queries are a listed hash with 0–40 bits
/// flipped (about three quarters of those within 31), half are random (no match).
///
/// Clustered, as real lists are (an image and its re-encodings, crops and resizes): groups
/// of 8 near-duplicates, each its group's centre with 0–16 bits flipped. A third of the
/// queries are a listed hash with 0–40 bits flipped, a third a new member of some group
/// with 20–48 bits flipped from its centre (near many listed hashes, often not within
/// 31: the expensive case), a third random.
fn generate(kind: &str, n: usize, q: usize, seed: u64) -> (Vec<[u64; 4]>, Vec<[u64; 4]>) {
    let mut rng = Rng(seed);
    match kind {
        "random" => {
            let hashes: Vec<[u64; 4]> = (0..n).map(|_| rng.words()).collect();
            let queries = (0..q)
                .map(|i| {
                    if i % 2 == 0 {
                        let (k, at) = (rng.below(41), rng.below(n));
                        rng.flip(hashes[at], k)
                    } else {
                        rng.words()
                    }
                })
                .collect();
            (hashes, queries)
        }
        "clustered" => {
            let groups = n.div_ceil(8);
            let centres: Vec<[u64; 4]> = (0..groups).map(|_| rng.words()).collect();
            let hashes: Vec<[u64; 4]> = (0..n)
                .map(|i| {
                    let k = rng.below(17);
                    rng.flip(centres[i / 8], k)
                })
                .collect();
            let queries = (0..q)
                .map(|i| match i % 3 {
                    0 => {
                        let (k, at) = (rng.below(41), rng.below(n));
                        rng.flip(hashes[at], k)
                    }
                    1 => {
                        let (k, at) = (20 + rng.below(29), rng.below(groups));
                        rng.flip(centres[at], k)
                    }
                    _ => rng.words(),
                })
                .collect();
            (hashes, queries)
        }
        other => panic!("--kind random or clustered, not {other}"),
    }
}

fn write_hashes(path: &PathBuf, hashes: &[PdqHash]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for h in hashes {
        for w in h.to_words() {
            f.write_all(&w.to_be_bytes()).unwrap();
        }
    }
    f.flush().unwrap();
}

/// The process's resident set, from /proc (Linux). Elsewhere 0, and the growth printed is
/// then 0: the index's own accounting (`heap_bytes`), printed beside it, still holds.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut kind, mut n, mut q, mut s, mut rounds, mut dir) = (
        "random".to_owned(),
        1_000_000usize,
        2_000usize,
        0usize,
        5usize,
        PathBuf::from("."),
    );
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--kind" => kind = v,
            "--hashes" => n = v.parse().unwrap(),
            "--queries" => q = v.parse().unwrap(),
            "--scan-queries" => s = v.parse().unwrap(),
            "--rounds" => rounds = v.parse().unwrap(),
            "--dir" => dir = PathBuf::from(v),
            other => panic!("unknown option {other}"),
        }
    }
    let s = if s == 0 { q } else { s.min(q) };
    let (words, query_words) = generate(&kind, n, q, 0x5eed + n as u64);
    let hashes: Vec<PdqHash> = words.into_iter().map(PdqHash::from_words).collect();
    let queries: Vec<PdqHash> = query_words.into_iter().map(PdqHash::from_words).collect();
    write_hashes(&dir.join("hashes.bin"), &hashes);
    write_hashes(&dir.join("queries.bin"), &queries);

    let rss_before = resident_bytes();
    let start = Instant::now();
    let index = PdqIndex::multi_index(&hashes, THRESHOLD);
    let build = start.elapsed();
    let rss_grew = resident_bytes().saturating_sub(rss_before);
    let scan = PdqIndex::brute_force(&hashes, THRESHOLD);
    assert!(index.uses_mih());

    // Identical results: the index against brute force on the queries brute force runs.
    let results: Vec<Vec<(u32, u32)>> = queries.iter().map(|h| index.search(h)).collect();
    for (i, h) in queries.iter().take(s).enumerate() {
        assert_eq!(
            results[i],
            scan.search(h),
            "query {i}: the index and brute force disagree"
        );
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("results.bin")).unwrap());
    for r in &results {
        out.write_all(&(r.len() as u32).to_le_bytes()).unwrap();
        for (id, _) in r {
            out.write_all(&id.to_le_bytes()).unwrap();
        }
    }
    out.flush().unwrap();
    let found: usize = results.iter().map(Vec::len).sum();
    let with_match = results.iter().filter(|r| !r.is_empty()).count();

    // Interleaved rounds: each round times the index over every query and brute force over
    // the first `s`, so both see the machine in the same state; the ratio is per round.
    let (mut index_qps, mut scan_qps, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for h in &queries {
            black_box(index.search(black_box(h)));
        }
        let iq = q as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for h in &queries[..s] {
            black_box(scan.search(black_box(h)));
        }
        let sq = s as f64 / t.elapsed().as_secs_f64();
        index_qps.push(iq);
        scan_qps.push(sq);
        ratios.push(iq / sq);
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(q * 3);
    for _ in 0..3 {
        for h in &queries {
            let t = Instant::now();
            black_box(index.search(black_box(h)));
            latencies.push(t.elapsed());
        }
    }
    latencies.sort_unstable();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let (p50, p99) = (pct(50), pct(99));
    let (rmin, rmax) = (
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    let ratio = median(&mut ratios);
    let iqps = median(&mut index_qps);
    let sqps = median(&mut scan_qps);
    let heap = index.heap_bytes();
    println!(
        "{kind} {n}: {q} queries, {found} matches for {with_match} of them; identical to brute force on {s}; built in {:.1} s, {:.0} bytes a hash ({:.2} GiB; resident set grew {:.2} GiB)",
        build.as_secs_f64(),
        heap as f64 / n as f64,
        heap as f64 / f64::from(1u32 << 30),
        rss_grew as f64 / f64::from(1u32 << 30),
    );
    println!(
        "  index {iqps:.0}/s (p50 {:.1} µs, p99 {:.1} µs); brute force {sqps:.1}/s; index/brute force {ratio:.1}x (median of {rounds}, {rmin:.1}–{rmax:.1})",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
    );
    println!(
        "RESULT {{\"kind\":\"{kind}\",\"n\":{n},\"queries\":{q},\"scan_queries\":{s},\"found\":{found},\"build_s\":{:.3},\"heap_bytes\":{heap},\"rss_grew\":{rss_grew},\"index_qps\":{iqps:.1},\"scan_qps\":{sqps:.3},\"ratio\":{ratio:.3},\"ratio_min\":{rmin:.3},\"ratio_max\":{rmax:.3},\"p50_us\":{:.2},\"p99_us\":{:.2}}}",
        build.as_secs_f64(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
    );
}
