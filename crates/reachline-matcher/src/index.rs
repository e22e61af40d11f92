//! Nearest-neighbour search over PDQ hashes: two-level multi-index hashing (MIH) with an
//! exact brute-force fallback.
//!
//! The 256 bits are 8 chunks of 32. If two hashes are within distance `t`, then by the
//! pigeonhole principle at least one chunk differs in at most `r = t / 8` bits (otherwise
//! every chunk differs in `r + 1` or more, and `8 (r + 1) > t`). And if a chunk differs in
//! at most `r` bits, one of its two 16-bit halves differs in at most `s = r / 2` (again by
//! pigeonhole). So the index keeps 16 tables, one per half of each chunk, keyed by that
//! half; a search reads, in each table, the buckets of every key within `s` bits of the
//! query's half, keeps the entries whose whole chunk is within `r` bits of the query's
//! (each entry stores the other half of its chunk beside its id, so this is decided
//! without reading the hash), and checks the full distance of what is left. No hash
//! within `t` is missed, and only hashes within `t` are returned: the results are exactly
//! a brute-force scan's. For the default `t = 31`, `r = 3` and `s = 1`.
//!
//! Why two levels: 32-bit chunks leave few candidates to check (a random hash is within 3
//! bits of a 32-bit chunk once in 780,000, so ~100 checks a query at 10 million hashes),
//! but finding everything within 3 bits of a 32-bit value directly means 5,489 probes a
//! chunk. Halves of 16 bits need 17 probes each (272 a query), each a run of entries read
//! in order: the search is a few hundred random reads and a sequential scan, where 11
//! chunks of 23 bits needed ~2,300 random bucket reads and ~3,600 random hash reads at 10
//! million (bench/README, "pdq.sh").
//!
//! Memory: 32 bytes per hash, plus 6 bytes per hash per table (96: the other half, 2, and
//! the id, 4), plus 16 directories of 256 KiB: 128 bytes per hash and 4 MiB (1.2 GiB at
//! 10 million).
//!
//! Small lists, and thresholds of 48 and above (where probing explodes), use the scan.

use crate::pdq::PdqHash;

/// Below this many hashes a scan beats building 16 tables of 65,536 buckets.
pub const MIH_MIN_HASHES: usize = 4_096;

/// Chunks of 32 bits, each indexed by both of its 16-bit halves.
const CHUNKS: usize = 8;
const TABLES: usize = 2 * CHUNKS;
/// Buckets of a table: one per value of a 16-bit half.
const BUCKETS: usize = 1 << 16;
/// Above this half radius (`t / 8 / 2`) probing costs more than it saves.
const MAX_HALF_RADIUS: u32 = 2;

/// A hash as four words, aligned so that it never straddles two cache lines: checking a
/// candidate then costs at most one memory access.
#[derive(Clone, Copy)]
#[repr(align(32))]
struct Words([u64; 4]);

/// An immutable set of PDQ hashes searched at one distance threshold.
#[derive(Clone)]
pub struct PdqIndex {
    hashes: Vec<Words>,
    threshold: u32,
    mih: Option<Mih>,
}

/// One table per half of each chunk, in compressed-row form: the hashes whose half `k`
/// (table `k` is half `k % 2` of chunk `k / 2`, 0 the high half) is `v` are at positions
/// `offsets[k][v]..offsets[k][v + 1]` of `others[k]` (the chunk's other half) and
/// `ids[k]` (their ids). The other halves are kept apart from the ids so that scanning a
/// bucket reads one small, dense array; ids are read only for the few entries that pass.
#[derive(Clone)]
struct Mih {
    offsets: Vec<Vec<u32>>,
    others: Vec<Vec<u16>>,
    ids: Vec<Vec<u32>>,
    /// The chunk radius `r`.
    radius: u32,
    /// The half radius `s`.
    half_radius: u32,
}

/// Chunk `c` (0 the most significant 32 bits) of a hash.
#[inline]
fn chunk(words: &[u64; 4], c: usize) -> u32 {
    let w = words.get(c / 2).copied().unwrap_or(0);
    if c.is_multiple_of(2) {
        (w >> 32) as u32
    } else {
        w as u32
    }
}

/// Table `k`'s key of a hash, and the other half of its chunk.
#[inline]
fn key_and_other(words: &[u64; 4], k: usize) -> (u16, u16) {
    let value = chunk(words, k / 2);
    let (high, low) = ((value >> 16) as u16, value as u16);
    if k.is_multiple_of(2) {
        (high, low)
    } else {
        (low, high)
    }
}

#[inline]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Every `bits`-bit value within `radius` bits of `v`, with its distance from `v`.
fn neighbours(v: u32, bits: u32, radius: u32, out: &mut Vec<(u32, u32)>) {
    out.clear();
    out.push((v, 0));
    if radius >= 1 {
        for x in 0..bits {
            out.push((v ^ (1 << x), 1));
        }
    }
    if radius >= 2 {
        for x in 0..bits {
            for y in x + 1..bits {
                out.push((v ^ (1 << x) ^ (1 << y), 2));
            }
        }
    }
    if radius >= 3 {
        for x in 0..bits {
            for y in x + 1..bits {
                for z in y + 1..bits {
                    out.push((v ^ (1 << x) ^ (1 << y) ^ (1 << z), 3));
                }
            }
        }
    }
}

/// `x` with its lowest set bit cleared `B` times: 0 exactly when `x` has at most `B` bits
/// set. A few instructions, which the compiler also runs on 16 lanes at once (where a
/// popcount of 16-bit lanes is an instruction few processors have).
#[inline(always)]
fn without_lowest<const B: u32>(x: u16) -> u16 {
    let mut x = x;
    for _ in 0..B {
        x &= x.wrapping_sub(1);
    }
    x
}

/// Positions `start..` of the entries of `others` (a bucket) whose other half is within
/// `B` bits of `query`, appended to `out` with `table`. Sixteen entries at a time, as a
/// mask of those that pass (most pass none), so the test runs in vector lanes.
#[inline(always)]
fn scan_bucket<const B: u32>(
    others: &[u16],
    query: u16,
    table: u8,
    start: u32,
    out: &mut Vec<(u8, u32)>,
) {
    let chunks = others.chunks_exact(16);
    let rest = chunks.remainder();
    let mut base = start;
    for chunk in chunks {
        let mut mask = 0u32;
        for (i, &other) in chunk.iter().enumerate() {
            mask |= u32::from(without_lowest::<B>(other ^ query) == 0) << i;
        }
        while mask != 0 {
            out.push((table, base + mask.trailing_zeros()));
            mask &= mask - 1;
        }
        base += 16;
    }
    for (i, &other) in rest.iter().enumerate() {
        if without_lowest::<B>(other ^ query) == 0 {
            out.push((table, base + i as u32));
        }
    }
}

impl std::fmt::Debug for PdqIndex {
    /// Sizes only: listed hashes stay out of debug output and logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdqIndex")
            .field("hashes", &self.hashes.len())
            .field("threshold", &self.threshold)
            .field("mih", &self.mih.is_some())
            .finish()
    }
}

impl PdqIndex {
    /// Builds an index; ids in results are positions in `hashes`. Uses MIH when the list
    /// is large enough and the threshold small enough, otherwise a scan.
    pub fn new(hashes: &[PdqHash], threshold: u32) -> Self {
        let use_mih = hashes.len() >= MIH_MIN_HASHES && Self::radii(threshold).is_some();
        Self::build(hashes, threshold, use_mih)
    }

    /// Builds an index that always scans (for comparison and for small lists).
    pub fn brute_force(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, false)
    }

    /// Builds an index that always uses MIH, whatever the size (falls back to a scan only
    /// for thresholds of 48 and above).
    pub fn multi_index(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, Self::radii(threshold).is_some())
    }

    /// The chunk and half radii for a threshold, if MIH handles it.
    fn radii(threshold: u32) -> Option<(u32, u32)> {
        let r = threshold / CHUNKS as u32;
        let s = r / 2;
        (s <= MAX_HALF_RADIUS).then_some((r, s))
    }

    fn build(hashes: &[PdqHash], threshold: u32, use_mih: bool) -> Self {
        let words: Vec<Words> = hashes.iter().map(|h| Words(h.to_words())).collect();
        let mih = Self::radii(threshold)
            .filter(|_| use_mih && u32::try_from(words.len()).is_ok())
            .map(|(radius, half_radius)| {
                let mut offsets = Vec::with_capacity(TABLES);
                let mut all_others = Vec::with_capacity(TABLES);
                let mut all_ids = Vec::with_capacity(TABLES);
                for k in 0..TABLES {
                    // Counting sort of the entries by the table's key.
                    let mut off = vec![0u32; BUCKETS + 1];
                    for w in &words {
                        off[usize::from(key_and_other(&w.0, k).0) + 1] += 1;
                    }
                    for v in 0..BUCKETS {
                        off[v + 1] += off[v];
                    }
                    let mut next = off.clone();
                    let mut others = vec![0u16; words.len()];
                    let mut ids = vec![0u32; words.len()];
                    for (id, w) in words.iter().enumerate() {
                        let (key, other) = key_and_other(&w.0, k);
                        let slot = &mut next[usize::from(key)];
                        others[*slot as usize] = other;
                        ids[*slot as usize] = id as u32;
                        *slot += 1;
                    }
                    offsets.push(off);
                    all_others.push(others);
                    all_ids.push(ids);
                }
                Mih {
                    offsets,
                    others: all_others,
                    ids: all_ids,
                    radius,
                    half_radius,
                }
            });
        Self {
            hashes: words,
            threshold,
            mih,
        }
    }

    /// The distance threshold (inclusive).
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are no hashes.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether searches use multi-index hashing (rather than a scan).
    pub fn uses_mih(&self) -> bool {
        self.mih.is_some()
    }

    /// Bytes of heap the index holds (the hashes and the tables), for capacity planning.
    pub fn heap_bytes(&self) -> usize {
        let tables = self.mih.as_ref().map_or(0, |m| {
            let words = m
                .offsets
                .iter()
                .chain(&m.ids)
                .map(Vec::capacity)
                .sum::<usize>();
            let halves = m.others.iter().map(Vec::capacity).sum::<usize>();
            words * 4
                + halves * 2
                + (m.offsets.capacity() + m.ids.capacity()) * std::mem::size_of::<Vec<u32>>()
                + m.others.capacity() * std::mem::size_of::<Vec<u16>>()
        });
        self.hashes.capacity() * std::mem::size_of::<Words>() + tables
    }

    /// `(id, distance)` of every hash within the threshold, sorted by id.
    pub fn search(&self, query: &PdqHash) -> Vec<(u32, u32)> {
        match &self.mih {
            Some(mih) => self.search_mih(mih, query),
            None => self.search_scan(query),
        }
    }

    /// The same as [`Self::search`] by scanning every hash, whatever the index kind.
    pub fn search_scan(&self, query: &PdqHash) -> Vec<(u32, u32)> {
        let q = query.to_words();
        let mut out = Vec::new();
        for (id, h) in self.hashes.iter().enumerate() {
            let d = distance(&q, &h.0);
            if d <= self.threshold {
                out.push((id as u32, d));
            }
        }
        out
    }

    /// MIH search in passes, each a loop whose memory reads do not wait on each other or
    /// on hard-to-predict branches, so the processor keeps many of them in flight: find
    /// every probed bucket's range; touch every cache line of every bucket, which brings
    /// the buckets into cache in parallel (at 10 million hashes a bucket is ~150 entries,
    /// five lines: touching only the first left the scan waiting on the rest: 9,552
    /// lookups/s against 13,204 in one comparison);
    /// scan the buckets, keeping entries whose chunk is within the chunk radius; read
    /// those entries' ids; check their full distance. Done in one loop instead, each
    /// bucket's read would wait on the branch that ended the previous bucket, and a search
    /// would cost one memory latency per bucket.
    fn search_mih(&self, mih: &Mih, query: &PdqHash) -> Vec<(u32, u32)> {
        let q = query.to_words();
        let mut probes = Vec::with_capacity(1 + 16 + 120);
        // (table, start, end, query's other half, budget for the other half) of every
        // probed bucket.
        let mut buckets: Vec<(u8, u32, u32, u16, u8)> = Vec::with_capacity(TABLES * 17);
        for k in 0..TABLES {
            let (key, other) = key_and_other(&q, k);
            neighbours(u32::from(key), 16, mih.half_radius, &mut probes);
            let Some(offsets) = mih.offsets.get(k) else {
                continue;
            };
            for &(v, flipped) in &probes {
                let start = offsets.get(v as usize).copied().unwrap_or(0);
                let end = offsets.get(v as usize + 1).copied().unwrap_or(0);
                if start < end {
                    buckets.push((k as u8, start, end, other, (mih.radius - flipped) as u8));
                }
            }
        }
        let mut touched = 0u16;
        for &(k, start, end, ..) in &buckets {
            let Some(others) = mih.others.get(usize::from(k)) else {
                continue;
            };
            // Reads whose values feed nothing but `touched`: they only warm the cache, one
            // read a cache line of the bucket (32 entries) and its last entry.
            for position in (start..end).step_by(32).chain([end - 1]) {
                touched ^= others.get(position as usize).copied().unwrap_or(0);
            }
        }
        std::hint::black_box(touched);
        // (table, position) of entries whose chunk is within the chunk radius.
        let mut passed: Vec<(u8, u32)> = Vec::with_capacity(64);
        for &(k, start, end, other, budget) in &buckets {
            let Some(entries) = mih
                .others
                .get(usize::from(k))
                .and_then(|o| o.get(start as usize..end as usize))
            else {
                continue;
            };
            let out = &mut passed;
            match budget {
                0 => scan_bucket::<0>(entries, other, k, start, out),
                1 => scan_bucket::<1>(entries, other, k, start, out),
                2 => scan_bucket::<2>(entries, other, k, start, out),
                3 => scan_bucket::<3>(entries, other, k, start, out),
                4 => scan_bucket::<4>(entries, other, k, start, out),
                _ => scan_bucket::<5>(entries, other, k, start, out),
            }
        }
        // A near hash is found once per half it is close in: deduplicate the (short)
        // result rather than the candidates. Every position came from a bucket of its own
        // table, so the lookup cannot miss; `u32::MAX` (no hash) would only be skipped below.
        let ids: Vec<u32> = passed
            .iter()
            .map(|&(k, position)| {
                mih.ids
                    .get(usize::from(k))
                    .and_then(|ids| ids.get(position as usize))
                    .copied()
                    .unwrap_or(u32::MAX)
            })
            .collect();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for id in ids {
            if let Some(h) = self.hashes.get(id as usize) {
                let d = distance(&q, &h.0);
                if d <= self.threshold {
                    out.push((id, d));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded xorshift generator: the tests' hashes, the same on every run.
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn each_bit_is_in_one_key_and_one_other_half() {
        for bit in 0..256u32 {
            let mut w = [0u64; 4];
            w[(bit / 64) as usize] = 1 << (63 - bit % 64);
            let keys: Vec<usize> = (0..TABLES)
                .filter(|&k| key_and_other(&w, k).0 != 0)
                .collect();
            let others: Vec<usize> = (0..TABLES)
                .filter(|&k| key_and_other(&w, k).1 != 0)
                .collect();
            assert_eq!(keys.len(), 1, "bit {bit}");
            assert_eq!(others, vec![keys[0] ^ 1], "bit {bit}");
            // Chunks from the most significant end, the high half first.
            let k = keys[0];
            assert_eq!(k / 2, (bit / 32) as usize, "bit {bit}");
            assert_eq!(k % 2, ((bit % 32) / 16) as usize, "bit {bit}");
            assert_eq!(key_and_other(&w, k).0, 1 << (15 - bit % 16), "bit {bit}");
        }
    }

    /// Near neighbours planted at every distance up to 40, in clusters, are found exactly
    /// as a scan finds them, at the default threshold and at the largest the index takes.
    #[test]
    fn planted_neighbours_are_found_as_a_scan_finds_them() {
        let mut next = xorshift(0x1234_5678_9abc_def0u64);
        let mut hashes: Vec<PdqHash> = (0..6000)
            .map(|_| PdqHash::from_words([next(), next(), next(), next()]))
            .collect();
        let mut queries = Vec::new();
        for k in 0..=40u64 {
            let base = hashes[(k * 97) as usize].to_words();
            let mut w = base;
            let mut flipped = 0;
            while flipped < k {
                let bit = next() % 256;
                let (i, m) = ((bit / 64) as usize, 1u64 << (bit % 64));
                if (w[i] ^ base[i]) & m == 0 {
                    w[i] ^= m;
                    flipped += 1;
                }
            }
            queries.push(PdqHash::from_words(w));
            // A cluster: the query's own near-duplicates listed too.
            hashes.push(PdqHash::from_words([
                w[0] ^ 1,
                w[1],
                w[2],
                w[3] ^ (1 << 40),
            ]));
        }
        for threshold in [31, 47] {
            let scan = PdqIndex::brute_force(&hashes, threshold);
            let index = PdqIndex::multi_index(&hashes, threshold);
            assert!(index.uses_mih());
            let mut found = 0;
            for q in &queries {
                let want = scan.search(q);
                assert_eq!(index.search(q), want, "threshold {threshold}");
                found += want.len();
            }
            assert!(found > 40, "{found}");
        }
    }

    /// The hardest case for the pigeonhole: 31 differing bits spread as evenly as they
    /// can be, two in every half but one, which has one; only that half's table (probed
    /// one bit away) finds the hash. With two in every half (32) nothing is found.
    #[test]
    fn a_distance_spread_over_every_half_is_found() {
        let hashes: Vec<PdqHash> = (0..5000u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                PdqHash::from_words([x, x.rotate_left(13), !x, x ^ 0x5555])
            })
            .collect();
        let index = PdqIndex::multi_index(&hashes, 31);
        for (n, single) in (0..TABLES).enumerate() {
            let target = hashes[n * 311].to_words();
            let mut spread = target;
            for half in 0..TABLES {
                // Bits 3 and 11 of this half (from its most significant end), or only 3.
                let (word, base) = (half / 4, 48 - 16 * (half % 4) as u32);
                spread[word] ^= 1 << (base + 12);
                if half != single {
                    spread[word] ^= 1 << (base + 4);
                }
            }
            let found = index.search(&PdqHash::from_words(spread));
            assert!(
                found.contains(&(n as u32 * 311, 31)),
                "half {single}: {found:?}"
            );
            spread[single / 4] ^= 1 << (48 - 16 * (single % 4) as u32 + 4);
            let found = index.search(&PdqHash::from_words(spread));
            assert!(
                !found.iter().any(|&(id, _)| id == n as u32 * 311),
                "half {single}"
            );
        }
    }

    /// A bucket of thousands of entries (every hash shares the first half of its first
    /// chunk), scanned sixteen at a time and the rest one by one: hashes 31 bits away
    /// that only that bucket can find (3 bits in the first chunk's other half, 4 in
    /// every other chunk) are found wherever they are in it, as a scan finds them.
    #[test]
    fn a_large_bucket_is_scanned_whole() {
        let mut next = xorshift(0x0bad_cafe_u64);
        let shared = 0x1234u64 << 48;
        let hashes: Vec<PdqHash> = (0..5003)
            .map(|_| {
                let w0 = shared | (next() & 0xffff_ffff_ffff);
                PdqHash::from_words([w0, next(), next(), next()])
            })
            .collect();
        let scan = PdqIndex::brute_force(&hashes, 31);
        let index = PdqIndex::multi_index(&hashes, 31);
        for n in (0..5003).step_by(97).chain(4990..5003) {
            let mut w = hashes[n].to_words();
            // Chunk 0's low half: bits 32–47 of word 0; 3 of them.
            for bit in [33, 38, 45] {
                w[0] ^= 1 << bit;
            }
            // Chunks 1 to 7: 4 bits each, 2 in each half.
            for c in 1..8 {
                let (word, base) = (c / 2, if c % 2 == 0 { 32 } else { 0 });
                for bit in [1, 9, 17, 26] {
                    w[word] ^= 1 << (base + bit);
                }
            }
            let q = PdqHash::from_words(w);
            let want = scan.search(&q);
            assert!(want.contains(&(n as u32, 31)), "{n}");
            assert_eq!(index.search(&q), want, "{n}");
        }
    }

    #[test]
    fn without_lowest_counts_bits() {
        for x in [0u16, 1, 3, 0x8000, 0x8001, 0x0f0f, 0xffff, 0x1248] {
            let n = x.count_ones();
            assert_eq!(without_lowest::<0>(x) == 0, n == 0, "{x:#x}");
            assert_eq!(without_lowest::<1>(x) == 0, n <= 1, "{x:#x}");
            assert_eq!(without_lowest::<2>(x) == 0, n <= 2, "{x:#x}");
            assert_eq!(without_lowest::<3>(x) == 0, n <= 3, "{x:#x}");
            assert_eq!(without_lowest::<5>(x) == 0, n <= 5, "{x:#x}");
        }
    }

    #[test]
    fn neighbour_counts() {
        let mut v = Vec::new();
        for (radius, count) in [(0, 1), (1, 17), (2, 137), (3, 697)] {
            neighbours(7, 16, radius, &mut v);
            assert_eq!(v.len(), count);
            assert!(v
                .iter()
                .all(|&(n, d)| (n ^ 7).count_ones() == d && d <= radius));
            let mut values: Vec<u32> = v.iter().map(|p| p.0).collect();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), count);
        }
    }

    #[test]
    fn memory_is_as_documented() {
        let hashes: Vec<PdqHash> = (0..5000u64)
            .map(|i| PdqHash::from_words([i, i.rotate_left(17), !i, i * 7]))
            .collect();
        let index = PdqIndex::multi_index(&hashes, 31);
        let per_hash = (index.heap_bytes() - TABLES * (BUCKETS + 1) * 4) as f64 / 5000.0;
        // 32 for the hash, 16 × (2 + 4) for the tables, a little for the Vec headers.
        assert!((128.0..129.0).contains(&per_hash), "{per_hash}");
    }
}
