//! Nearest-neighbour search over PDQ hashes: multi-index hashing (MIH) with an exact
//! brute-force fallback.
//!
//! MIH takes 11 chunks of 23 bits from the 256 (the last 3 bits are in no chunk). If two
//! hashes are within distance `t`, then by the pigeonhole principle at least one chunk
//! differs in at most `r = t / 11` bits (otherwise every chunk differs in `r + 1` or
//! more, and `11 (r + 1) > t`; bits outside the chunks only add to the distance). So for
//! each chunk we find every listed hash whose chunk is within `r` bits of the query's,
//! and check the full distance of each such candidate. No hash within `t` is missed, and
//! only hashes within `t` are returned: the results are exactly a brute-force scan's. For
//! the default `t = 31`, `r = 2`.
//!
//! Each chunk's table is bucketed on the chunk's top 16 bits (65,536 buckets, a dense
//! directory of offsets; up to 20 bits for lists of millions, so that a bucket keeps
//! about eight entries) and keeps, per entry, the chunk's low bits in one array and
//! the hash's id in another. A probe flips up to `r` of the top bits to choose a
//! bucket, then keeps the entries whose low bits are within the rest of the budget, so
//! most far hashes are rejected by one byte, without reading their id or hash. With a
//! million hashes and `t = 31` a query reads about 1,500 small buckets and checks ~360
//! hashes, where 16 chunks of 16 bits would check ~4,000. A search is bound by memory
//! latency, so it runs in passes whose reads do not wait on each other (see
//! [`PdqIndex::search`]'s implementation).
//!
//! Memory: 32 bytes per hash, plus 5 bytes per hash per chunk (55), plus 11 directories
//! of 256 KiB to 4 MiB: 87 bytes per hash and about 4 more at 10 million (0.86 GiB).
//!
//! Small lists, and thresholds of 44 and above (where probing explodes), use the scan.

use crate::pdq::PdqHash;

/// Below this many hashes a scan beats building 11 tables of 65,536 buckets.
pub const MIH_MIN_HASHES: usize = 4_096;

/// Above this chunk radius (`t / 11`) probing costs more than it saves.
const MIH_MAX_RADIUS: u32 = 3;

/// Chunk widths in bits, from the most significant end (253 of the 256 bits).
const CHUNK_BITS: [u32; 11] = [23; 11];
const CHUNKS: usize = CHUNK_BITS.len();
/// Each chunk's top bits choose its bucket: at least 16 of its 23, more for large lists
/// (see [`bucket_bits_for`]).
const MIN_BUCKET_BITS: u32 = 16;
const MAX_BUCKET_BITS: u32 = 20;

/// Bucket bits for a list of `n` hashes: about eight hashes a bucket. A probe flips up to
/// `r` of the bucket bits, so more bits mean more (smaller) buckets to read: 137 a chunk
/// at 16 bits, 211 at 20. But a bucket's entries are all scanned, and at 10 million hashes
/// 16 bits leave 150 entries a bucket: scanning them, not finding them, is then the cost.
fn bucket_bits_for(n: usize) -> u32 {
    let per_bucket = 8usize;
    let want = (n / per_bucket).max(1).ilog2();
    want.clamp(MIN_BUCKET_BITS, MAX_BUCKET_BITS)
}

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

/// One table per chunk in compressed-row form: the hashes whose chunk `c` has top bits
/// `v` are at positions `offsets[c][v]..offsets[c][v + 1]` of `lows[c]` (the chunk's
/// remaining bits) and `ids[c]` (their ids). The low bits are kept apart from the ids so
/// that scanning a bucket reads one small, dense array; ids are read only for the few
/// entries that pass.
#[derive(Clone)]
struct Mih {
    offsets: Vec<Vec<u32>>,
    lows: Vec<Vec<u8>>,
    ids: Vec<Vec<u32>>,
    radius: u32,
    /// How many of a chunk's top bits choose its bucket.
    bucket_bits: u32,
}

/// Bit offset of chunk `c` from the most significant bit.
const fn chunk_start(c: usize) -> u32 {
    let mut start = 0;
    let mut i = 0;
    while i < c {
        start += CHUNK_BITS[i];
        i += 1;
    }
    start
}

const CHUNK_STARTS: [u32; CHUNKS] = {
    let mut s = [0; CHUNKS];
    let mut c = 0;
    while c < CHUNKS {
        s[c] = chunk_start(c);
        c += 1;
    }
    s
};

/// Chunk `c` of a hash, as the low `CHUNK_BITS[c]` bits of the result.
#[inline]
fn chunk(words: &[u64; 4], c: usize) -> u32 {
    let (start, len) = (CHUNK_STARTS[c], CHUNK_BITS[c]);
    let w = (start / 64) as usize;
    let hi = u128::from(words[w]) << 64;
    let lo = words.get(w + 1).map_or(0, |&x| u128::from(x));
    let shifted = (hi | lo) >> (128 - start % 64 - len);
    (shifted as u32) & ((1u32 << len) - 1)
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
        let use_mih = hashes.len() >= MIH_MIN_HASHES && Self::radius(threshold).is_some();
        Self::build(hashes, threshold, use_mih)
    }

    /// Builds an index that always scans (for comparison and for small lists).
    pub fn brute_force(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, false)
    }

    /// Builds an index that always uses MIH, whatever the size (falls back to a scan only
    /// for thresholds of 44 and above).
    pub fn multi_index(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, Self::radius(threshold).is_some())
    }

    /// [`Self::multi_index`] with a chosen number of bucket bits (16 to 20) rather than
    /// the one for the list's size: for tests that hold every choice to brute force.
    #[doc(hidden)]
    pub fn multi_index_with_bucket_bits(hashes: &[PdqHash], threshold: u32, bits: u32) -> Self {
        let bits = bits.clamp(MIN_BUCKET_BITS, MAX_BUCKET_BITS);
        Self::build_with(hashes, threshold, Self::radius(threshold).is_some(), bits)
    }

    /// The chunk radius for a threshold, if MIH handles it.
    fn radius(threshold: u32) -> Option<u32> {
        let r = threshold / CHUNKS as u32;
        (r <= MIH_MAX_RADIUS).then_some(r)
    }

    fn build(hashes: &[PdqHash], threshold: u32, use_mih: bool) -> Self {
        Self::build_with(hashes, threshold, use_mih, bucket_bits_for(hashes.len()))
    }

    fn build_with(hashes: &[PdqHash], threshold: u32, use_mih: bool, bucket_bits: u32) -> Self {
        let buckets = 1usize << bucket_bits;
        let words: Vec<Words> = hashes.iter().map(|h| Words(h.to_words())).collect();
        let radius = Self::radius(threshold).filter(|_| use_mih);
        let mih = radius
            .filter(|_| u32::try_from(words.len()).is_ok())
            .map(|radius| {
                let mut offsets = Vec::with_capacity(CHUNKS);
                let mut all_lows = Vec::with_capacity(CHUNKS);
                let mut all_ids = Vec::with_capacity(CHUNKS);
                for c in 0..CHUNKS {
                    let low_bits = CHUNK_BITS[c] - bucket_bits;
                    // Counting sort of entries by the chunk's top bits.
                    let mut off = vec![0u32; buckets + 1];
                    for w in &words {
                        off[(chunk(&w.0, c) >> low_bits) as usize + 1] += 1;
                    }
                    for v in 0..buckets {
                        off[v + 1] += off[v];
                    }
                    let mut next = off.clone();
                    let mut lows = vec![0u8; words.len()];
                    let mut ids = vec![0u32; words.len()];
                    for (id, w) in words.iter().enumerate() {
                        let value = chunk(&w.0, c);
                        let slot = &mut next[(value >> low_bits) as usize];
                        lows[*slot as usize] = (value & ((1 << low_bits) - 1)) as u8;
                        ids[*slot as usize] = id as u32;
                        *slot += 1;
                    }
                    offsets.push(off);
                    all_lows.push(lows);
                    all_ids.push(ids);
                }
                Mih {
                    offsets,
                    lows: all_lows,
                    ids: all_ids,
                    radius,
                    bucket_bits,
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
            let bytes = m.lows.iter().map(Vec::capacity).sum::<usize>();
            words * 4
                + bytes
                + (m.offsets.capacity() + m.ids.capacity()) * std::mem::size_of::<Vec<u32>>()
                + m.lows.capacity() * std::mem::size_of::<Vec<u8>>()
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
    /// every probed bucket's range; touch each bucket's first byte, which brings the
    /// buckets into cache in parallel; scan the buckets, keeping entries whose low bits
    /// are within budget; read those entries' ids; check their full distance. Done in one
    /// loop instead, each bucket's read would wait on the branch that ended the previous
    /// bucket, and a search would cost one memory latency per bucket (measured: about
    /// 1.6 times slower).
    fn search_mih(&self, mih: &Mih, query: &PdqHash) -> Vec<(u32, u32)> {
        let q = query.to_words();
        let b = mih.bucket_bits as usize;
        let mut probes = Vec::with_capacity(1 + b + b * (b - 1) / 2);
        // (chunk, start, end, query's low bits, budget) of every probed bucket.
        let mut buckets: Vec<(u8, u32, u32, u8, u8)> =
            Vec::with_capacity(CHUNKS * (1 + b + b * (b - 1) / 2));
        let mut touched = 0u8;
        for (c, &bits) in CHUNK_BITS.iter().enumerate() {
            let low_bits = bits - mih.bucket_bits;
            let value = chunk(&q, c);
            let top = value >> low_bits;
            let low = (value & ((1 << low_bits) - 1)) as u8;
            neighbours(top, mih.bucket_bits, mih.radius, &mut probes);
            let Some(offsets) = mih.offsets.get(c) else {
                continue;
            };
            for &(v, flipped) in &probes {
                let start = offsets.get(v as usize).copied().unwrap_or(0);
                let end = offsets.get(v as usize + 1).copied().unwrap_or(0);
                buckets.push((c as u8, start, end, low, (mih.radius - flipped) as u8));
            }
        }
        for &(c, start, ..) in &buckets {
            // A read whose value feeds nothing but `touched`: it only warms the cache.
            touched ^= mih
                .lows
                .get(c as usize)
                .and_then(|l| l.get(start as usize))
                .copied()
                .unwrap_or(0);
        }
        std::hint::black_box(touched);
        // (chunk, position) of entries whose low bits are within budget.
        let mut passed: Vec<(u8, u32)> = Vec::with_capacity(64);
        for &(c, start, end, low, budget) in &buckets {
            let Some(entries) = mih
                .lows
                .get(c as usize)
                .and_then(|s| s.get(start as usize..end as usize))
            else {
                continue;
            };
            for (i, &l) in entries.iter().enumerate() {
                if (l ^ low).count_ones() <= u32::from(budget) {
                    passed.push((c, start + i as u32));
                }
            }
        }
        // A near hash is found once per chunk it is close in: deduplicate the (short)
        // result rather than the candidates.
        let ids: Vec<u32> = passed
            .iter()
            .map(|&(c, position)| {
                mih.ids
                    .get(c as usize)
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

    #[test]
    fn chunks_cover_each_bit_at_most_once() {
        assert_eq!(CHUNK_STARTS[3], 69);
        // Each single bit lands in at most one chunk, at the right place; only the last
        // three bits are in none.
        for bit in 0..256u32 {
            let mut w = [0u64; 4];
            w[(bit / 64) as usize] = 1 << (63 - bit % 64);
            let hits: Vec<(usize, u32)> = (0..CHUNKS)
                .map(|c| (c, chunk(&w, c)))
                .filter(|(_, v)| *v != 0)
                .collect();
            if bit >= 253 {
                assert!(hits.is_empty(), "bit {bit}");
                continue;
            }
            assert_eq!(hits.len(), 1, "bit {bit}");
            let (c, v) = hits[0];
            assert!(bit >= CHUNK_STARTS[c] && bit < CHUNK_STARTS[c] + CHUNK_BITS[c]);
            assert_eq!(
                v,
                1 << (CHUNK_STARTS[c] + CHUNK_BITS[c] - 1 - bit),
                "bit {bit}"
            );
        }
        let all = [u64::MAX; 4];
        for (c, &bits) in CHUNK_BITS.iter().enumerate() {
            assert_eq!(chunk(&all, c), (1 << bits) - 1);
        }
    }

    #[test]
    fn bucket_bits_grow_with_the_list() {
        assert_eq!(bucket_bits_for(0), 16);
        assert_eq!(bucket_bits_for(100_000), 16);
        assert_eq!(bucket_bits_for(1_000_000), 16);
        assert_eq!(bucket_bits_for(2_000_000), 17);
        assert_eq!(bucket_bits_for(10_000_000), 20);
        assert_eq!(bucket_bits_for(100_000_000), 20);
    }

    /// Every bucket split finds exactly what a scan finds (near neighbours planted at
    /// every distance up to 40, across chunk boundaries).
    #[test]
    fn every_bucket_split_returns_what_brute_force_returns() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
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
        let scan = PdqIndex::brute_force(&hashes, 31);
        for bits in 16..=20 {
            let index = PdqIndex::multi_index_with_bucket_bits(&hashes, 31, bits);
            let mut found = 0;
            for q in &queries {
                let want = scan.search(q);
                assert_eq!(index.search(q), want, "{bits} bucket bits");
                found += want.len();
            }
            assert!(found > 40, "{found}");
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
        let buckets = 1 << bucket_bits_for(5000);
        let per_hash = (index.heap_bytes() - CHUNKS * (buckets + 1) * 4) as f64 / 5000.0;
        // 32 for the hash, 11 × (1 + 4) for the tables, a little for the Vec headers.
        assert!((87.0..88.0).contains(&per_hash), "{per_hash}");
    }
}
