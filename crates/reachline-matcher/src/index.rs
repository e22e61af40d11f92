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
//! (each entry keeps the other half of its chunk, so this is decided without reading the
//! hash), and checks the full distance of what is left. No hash within `t` is missed, and
//! only hashes within `t` are returned: the results are exactly a brute-force scan's. For the default `t = 31`, `r = 3` and `s = 1`. An entry whose
//! halves are both within `s` bits of the query's would pass in both of its chunk's tables:
//! the low half's table leaves it to the high half's, so that its id and hash are read once.
//!
//! Why two levels: 32-bit chunks leave few candidates to check (a random hash is within 3
//! bits of a 32-bit chunk once in 780,000, so ~100 checks a query at 10 million hashes),
//! but finding everything within 3 bits of a 32-bit value directly means 5,489 probes a
//! chunk. Halves of 16 bits need 17 probes each (272 a query), each a run of entries read
//! in order: the search is a few hundred random reads and a sequential scan, where 11
//! chunks of 23 bits needed ~2,300 random bucket reads and ~3,600 random hash reads at 10
//! million (bench/README, "pdq.sh").
//!
//! Each bucket is read through a slot of fixed size at a place computed from its key, so
//! the 272 probes are 272 reads, not a read of a directory and then of the bucket: a search
//! is then bound by those reads' latency (the processor keeps a limited number in flight),
//! and halving them more than doubled the lookups a second (bench/README, "Slots").
//!
//! Memory: 32 bytes per hash and 4 per hash per table (the ids: 96 in all), and for each of
//! the 16 tables 65,536 slots of 2-byte places (the slot size follows the list: 8 places
//! for a few thousand random hashes, 32 for a million, 192 for ten million, so 1 MiB, 4 MiB
//! and 24 MiB a table) and, for a table where some bucket does not fit its slot, 2 bytes
//! an entry that does not and 256 KiB of offsets: for random hashes 167 bytes a hash at a
//! million, 137 (1.27 GiB) at ten million, and 16.4 MiB for a list of 4,096.
//!
//! Small lists, and thresholds of 48 and above (where probing explodes), use the scan.

use crate::pdq::PdqHash;

/// Below this many hashes a scan beats building 16 tables of 65,536 buckets. At this size
/// the index answers 1.3–1.7 times as many lookups as a scan in the default build (whose
/// popcount is in software); a build for the processor (`-C target-cpu=native`, hardware
/// popcount) scans as fast as the index up to about 8,000 hashes (bench/README, "Slots").
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

/// One table per half of each chunk (table `k` is half `k % 2` of chunk `k / 2`, 0 the
/// high half), keyed by that half. Bucket `v` of a table (the hashes whose half is `v`) is
/// read through a slot of fixed size at place `v * slot` of the table's `slots`, so finding
/// a bucket costs no memory read. A slot holds a header (the bucket's size up to what fits,
/// and where its ids begin in `ids[k]`) and the chunk's other half of the bucket's first
/// `slot - HEADER` entries; entries that do not fit are in `overflow`, found through
/// `overflow_offsets` (read only for a full slot). The ids are in compressed-row form, a
/// bucket's in the order its slot and overflow hold them, and are read only for the few
/// entries that pass.
#[derive(Clone)]
struct Mih {
    /// Places of a slot, its header included: 8 or 16 (a slot within one cache line), or
    /// a multiple of 32 (whole lines).
    slot: usize,
    slots: Vec<Vec<Line>>,
    /// Empty for a table none of whose buckets overflow its slot.
    overflow_offsets: Vec<Vec<u32>>,
    overflow: Vec<Vec<u16>>,
    ids: Vec<Vec<u32>>,
    /// The chunk radius `r`.
    radius: u32,
    /// The half radius `s`.
    half_radius: u32,
}

/// One cache line of a table's slots: 32 entries of 16 bits.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line([u16; LINE]);

/// Entries of a line.
const LINE: usize = 32;
/// Places a slot's header takes: the bucket's count, and where its ids begin (32 bits).
const HEADER: usize = 3;
/// The largest slot, in lines.
const MAX_LINES: usize = 1_024;

/// The slot size for buckets of these sizes: the smallest of 8 and 16 places (a slot within
/// one cache line) and then whole lines, for which at most one bucket in 256 has more
/// entries than fit beside the header. For random hashes that is 8 places for a list of
/// 4,096, 32 (one line) for a million, 192 for ten million. At most 1,024 lines (32,768
/// places), so that the count fits its 16 bits; larger buckets overflow.
fn slot_entries(sizes: impl Iterator<Item = usize>) -> usize {
    let mut counts: Vec<usize> = Vec::new();
    let mut buckets = 0usize;
    for size in sizes {
        if counts.len() <= size {
            counts.resize(size + 1, 0);
        }
        counts[size] += 1;
        buckets += 1;
    }
    // Buckets larger than each size, from the largest size down.
    let mut larger = vec![0usize; counts.len() + 1];
    for size in (0..counts.len()).rev() {
        larger[size] = larger[size + 1] + counts[size];
    }
    let allowed = buckets / 256;
    let overflowing = |slot: usize| larger.get(slot).copied().unwrap_or(0);
    [8, 16]
        .into_iter()
        .chain((1..=MAX_LINES).map(|lines| lines * LINE))
        .find(|&slot| overflowing(slot + 1 - HEADER) <= allowed)
        .unwrap_or(MAX_LINES * LINE)
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

/// Whether an entry whose other half differs from the query's in the bits of `x` passes:
/// within `B` bits, and, in a table keyed by a chunk's low half (`LOW`), more than `S` (the
/// half radius) bits away. An entry within `S` bits there is in a bucket that the table
/// of the same chunk's high half also probes, where it passes too (its chunk distance is the
/// same): it is left to that table, so a near hash is not found, and its id and hash read,
/// twice for one chunk.
///
/// Counted by clearing the lowest set bit of `x` `B` times (0 exactly when `x` has at most
/// `B` bits set): a few instructions, which the compiler runs on many lanes at once (where
/// a popcount of 16-bit lanes is an instruction few processors have).
#[inline(always)]
fn passes<const B: u32, const LOW: bool, const S: u32>(x: u16) -> bool {
    // One chain of `x & (x - 1)`: what is left after `S` steps (`S ≤ B`: the budget is at
    // least the half radius) and after `B`.
    let (mut y, mut after_s) = (x, x);
    for step in 0..B {
        if step == S {
            after_s = y;
        }
        y &= y.wrapping_sub(1);
    }
    if S >= B {
        after_s = y;
    }
    y == 0 && (!LOW || after_s != 0)
}

/// Bit `i` set where entry `i` of `line` passes against `query`: 32 entries at once, as a
/// mask (most buckets pass none), so the test runs in vector lanes.
#[inline(always)]
fn line_mask<const B: u32, const LOW: bool, const S: u32>(line: &[u16; LINE], query: u16) -> u32 {
    let mut mask = 0u32;
    for (i, &other) in line.iter().enumerate() {
        mask |= u32::from(passes::<B, LOW, S>(other ^ query)) << i;
    }
    mask
}

/// The entries of bucket `key` of table `table` that pass against `query` ([`passes`]),
/// appended to `out` as (table, position in the table's ids): the slot's entries a line at
/// a time, then, if the slot is full, the bucket's overflow sixteen at a time.
#[inline(always)]
fn scan_bucket<const B: u32, const LOW: bool, const S: u32>(
    mih: &Mih,
    table: u8,
    key: u16,
    query: u16,
    out: &mut Vec<(u8, u32)>,
) {
    let k = usize::from(table);
    let Some(lines) = mih.slots.get(k) else {
        return;
    };
    let first = usize::from(key) * mih.slot;
    let (line, at) = (first / LINE, first % LINE);
    // The header is within the slot's first line (a slot has at least 8 places).
    let Some((count, start)) = lines.get(line).and_then(|l| {
        let header = l.0.get(at..at + HEADER)?;
        Some((
            usize::from(header[0]),
            u32::from(header[1]) | u32::from(header[2]) << 16,
        ))
    }) else {
        return;
    };
    // The entries are at places `at + HEADER..end` of the lines from `line` on.
    let end = at + HEADER + count;
    for (i, l) in lines.iter().skip(line).take(end.div_ceil(LINE)).enumerate() {
        let low = i * LINE;
        let (from, to) = ((at + HEADER).saturating_sub(low), (end - low).min(LINE));
        if from >= to {
            continue;
        }
        let valid = (u32::MAX >> (LINE - to)) & (u32::MAX << from);
        let mut mask = line_mask::<B, LOW, S>(&l.0, query) & valid;
        while mask != 0 {
            let place = low + mask.trailing_zeros() as usize;
            out.push((table, start + (place - at - HEADER) as u32));
            mask &= mask - 1;
        }
    }
    if count + HEADER < mih.slot {
        return;
    }
    let Some(entries) = mih.overflow_offsets.get(k).and_then(|o| {
        let range = *o.get(usize::from(key))? as usize..*o.get(usize::from(key) + 1)? as usize;
        mih.overflow.get(k)?.get(range)
    }) else {
        return;
    };
    let chunks = entries.chunks_exact(16);
    let rest = chunks.remainder();
    let mut base = start + count as u32;
    for chunk in chunks {
        let mut mask = 0u32;
        for (i, &other) in chunk.iter().enumerate() {
            mask |= u32::from(passes::<B, LOW, S>(other ^ query)) << i;
        }
        while mask != 0 {
            out.push((table, base + mask.trailing_zeros()));
            mask &= mask - 1;
        }
        base += 16;
    }
    for (i, &other) in rest.iter().enumerate() {
        if passes::<B, LOW, S>(other ^ query) {
            out.push((table, base + i as u32));
        }
    }
}

/// [`scan_bucket`] with the table's half (high or low) and the half radius as constants.
#[inline(always)]
fn scan_in<const B: u32>(
    mih: &Mih,
    s: u32,
    table: u8,
    key: u16,
    query: u16,
    out: &mut Vec<(u8, u32)>,
) {
    match (table % 2 == 1, s) {
        (false, _) => scan_bucket::<B, false, 0>(mih, table, key, query, out),
        (true, 0) => scan_bucket::<B, true, 0>(mih, table, key, query, out),
        (true, 1) => scan_bucket::<B, true, 1>(mih, table, key, query, out),
        (true, _) => scan_bucket::<B, true, 2>(mih, table, key, query, out),
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
        Self::build_with_slot(hashes, threshold, use_mih, None)
    }

    /// Builds with slots of `slot` entries, or of the size [`slot_entries`] picks for the
    /// list's buckets.
    fn build_with_slot(
        hashes: &[PdqHash],
        threshold: u32,
        use_mih: bool,
        slot: Option<usize>,
    ) -> Self {
        let words: Vec<Words> = hashes.iter().map(|h| Words(h.to_words())).collect();
        let mih = Self::radii(threshold)
            .filter(|_| use_mih && u32::try_from(words.len()).is_ok())
            .map(|(radius, half_radius)| {
                // Counting sort of each table's entries by its key.
                let all_offsets: Vec<Vec<u32>> = (0..TABLES)
                    .map(|k| {
                        let mut off = vec![0u32; BUCKETS + 1];
                        for w in &words {
                            off[usize::from(key_and_other(&w.0, k).0) + 1] += 1;
                        }
                        for v in 0..BUCKETS {
                            off[v + 1] += off[v];
                        }
                        off
                    })
                    .collect();
                let slot = slot.unwrap_or_else(|| {
                    slot_entries(
                        all_offsets
                            .iter()
                            .flat_map(|off| off.windows(2).map(|w| (w[1] - w[0]) as usize)),
                    )
                });
                let mut mih = Mih {
                    slot,
                    slots: Vec::with_capacity(TABLES),
                    overflow_offsets: Vec::with_capacity(TABLES),
                    overflow: Vec::with_capacity(TABLES),
                    ids: Vec::with_capacity(TABLES),
                    radius,
                    half_radius,
                };
                for (k, off) in all_offsets.into_iter().enumerate() {
                    let mut next = off.clone();
                    let mut others = vec![0u16; words.len()];
                    let mut ids = vec![0u32; words.len()];
                    for (id, w) in words.iter().enumerate() {
                        let (key, other) = key_and_other(&w.0, k);
                        let at = &mut next[usize::from(key)];
                        others[*at as usize] = other;
                        ids[*at as usize] = id as u32;
                        *at += 1;
                    }
                    // Each bucket's count and first entries into its slot, the rest into
                    // the overflow.
                    let mut lines = vec![Line([0; LINE]); (BUCKETS * slot).div_ceil(LINE)];
                    let mut put = |place: usize, value: u16| {
                        if let Some(l) = lines.get_mut(place / LINE) {
                            l.0[place % LINE] = value;
                        }
                    };
                    let mut overflow_offsets = vec![0u32; BUCKETS + 1];
                    let mut overflow = Vec::new();
                    for v in 0..BUCKETS {
                        let bucket = &others[off[v] as usize..off[v + 1] as usize];
                        let (inline, over) = bucket.split_at(bucket.len().min(slot - HEADER));
                        put(v * slot, inline.len() as u16);
                        put(v * slot + 1, off[v] as u16);
                        put(v * slot + 2, (off[v] >> 16) as u16);
                        for (j, &other) in inline.iter().enumerate() {
                            put(v * slot + HEADER + j, other);
                        }
                        overflow.extend_from_slice(over);
                        overflow_offsets[v + 1] = overflow.len() as u32;
                    }
                    if overflow.is_empty() {
                        overflow_offsets = Vec::new();
                    }
                    mih.slots.push(lines);
                    mih.overflow_offsets.push(overflow_offsets);
                    mih.overflow.push(overflow);
                    mih.ids.push(ids);
                }
                mih
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
                .ids
                .iter()
                .chain(&m.overflow_offsets)
                .map(Vec::capacity)
                .sum::<usize>();
            let halves = m.overflow.iter().map(Vec::capacity).sum::<usize>();
            let lines = m.slots.iter().map(Vec::capacity).sum::<usize>();
            let headers = (m.ids.capacity() + m.overflow_offsets.capacity())
                * std::mem::size_of::<Vec<u32>>()
                + m.overflow.capacity() * std::mem::size_of::<Vec<u16>>()
                + m.slots.capacity() * std::mem::size_of::<Vec<Line>>();
            words * 4 + halves * 2 + lines * std::mem::size_of::<Line>() + headers
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
    /// on hard-to-predict branches, so the processor keeps many of them in flight: list
    /// the probed buckets (their slots' places are computed, not read); touch the first
    /// cache line of every slot, which brings them into cache in parallel; for slots of
    /// several lines, touch the further lines each bucket's count says it fills (at 10
    /// million hashes most fill five: touching only the first left the scan waiting on
    /// the rest); scan the slots, keeping entries whose chunk is within the chunk radius;
    /// read those entries' ids; check their full distance. Done in one loop instead, each
    /// bucket's read would wait on the branch that ended the previous bucket, and a search
    /// would cost one memory latency per bucket.
    fn search_mih(&self, mih: &Mih, query: &PdqHash) -> Vec<(u32, u32)> {
        let q = query.to_words();
        let mut probes = Vec::with_capacity(1 + 16 + 120);
        // (table, key, query's other half, budget for the other half) of every probed
        // bucket.
        let mut buckets: Vec<(u8, u16, u16, u8)> = Vec::with_capacity(TABLES * 17);
        for k in 0..TABLES {
            let (key, other) = key_and_other(&q, k);
            neighbours(u32::from(key), 16, mih.half_radius, &mut probes);
            for &(v, flipped) in &probes {
                buckets.push((k as u8, v as u16, other, (mih.radius - flipped) as u8));
            }
        }
        // Reads whose values feed nothing but `touched`: they only warm the cache.
        let mut touched = 0u16;
        for &(k, key, ..) in &buckets {
            let first = usize::from(key) * mih.slot;
            if let Some(l) = mih
                .slots
                .get(usize::from(k))
                .and_then(|l| l.get(first / LINE))
            {
                touched ^= l.0[0];
            }
        }
        if mih.slot > LINE {
            for &(k, key, ..) in &buckets {
                let Some(lines) = mih.slots.get(usize::from(k)) else {
                    continue;
                };
                let line = usize::from(key) * mih.slot / LINE;
                let Some(count) = lines.get(line).map(|l| usize::from(l.0[0])) else {
                    continue;
                };
                for l in lines
                    .iter()
                    .skip(line + 1)
                    .take((count + HEADER).div_ceil(LINE) - 1)
                {
                    touched ^= l.0[0];
                }
            }
        }
        std::hint::black_box(touched);
        // (table, position in its ids) of entries whose chunk is within the chunk radius.
        let mut passed: Vec<(u8, u32)> = Vec::with_capacity(64);
        let s = mih.half_radius;
        for &(k, key, other, budget) in &buckets {
            let out = &mut passed;
            match budget {
                0 => scan_in::<0>(mih, s, k, key, other, out),
                1 => scan_in::<1>(mih, s, k, key, other, out),
                2 => scan_in::<2>(mih, s, k, key, other, out),
                3 => scan_in::<3>(mih, s, k, key, other, out),
                4 => scan_in::<4>(mih, s, k, key, other, out),
                _ => scan_in::<5>(mih, s, k, key, other, out),
            }
        }
        // A near hash is found once per chunk it is close in (once, not twice, for the two
        // halves of a chunk: [`passes`]): deduplicate the (short) result rather than the
        // candidates. Every position came from a bucket of its own table, so the lookup
        // cannot miss; `u32::MAX` (no hash) would only be skipped below.
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
    /// chunk): its first five in its slot, the rest in the overflow, scanned sixteen at a
    /// time and the last few one by one. Hashes 31 bits away that only that bucket can
    /// find are found wherever they are in it, as a scan finds them.
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
            let q = only_table_zero_finds(&hashes[n]);
            let want = scan.search(&q);
            assert!(want.contains(&(n as u32, 31)), "{n}");
            assert_eq!(index.search(&q), want, "{n}");
        }
    }

    /// Every 16-bit difference: within the budget, and in a low half's table more than the
    /// half radius away, for each budget and half radius a search uses.
    #[test]
    fn passes_counts_bits() {
        for x in 0..=u16::MAX {
            let n = x.count_ones();
            assert_eq!(passes::<0, false, 0>(x), n == 0, "{x:#x}");
            assert_eq!(passes::<1, false, 0>(x), n <= 1, "{x:#x}");
            assert_eq!(passes::<3, false, 0>(x), n <= 3, "{x:#x}");
            assert_eq!(passes::<5, false, 0>(x), n <= 5, "{x:#x}");
            assert!(!passes::<0, true, 0>(x), "{x:#x}");
            assert_eq!(passes::<3, true, 0>(x), (1..=3).contains(&n), "{x:#x}");
            assert!(!passes::<1, true, 1>(x), "{x:#x}");
            assert_eq!(passes::<2, true, 1>(x), n == 2, "{x:#x}");
            assert_eq!(passes::<3, true, 1>(x), (2..=3).contains(&n), "{x:#x}");
            assert_eq!(passes::<5, true, 2>(x), (3..=5).contains(&n), "{x:#x}");
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

    /// Moves a listed hash 31 bits away so that only table 0 (the high half of chunk 0)
    /// can find it: 3 bits in chunk 0's low half (bits 32–47 of word 0), 4 in every other
    /// chunk (2 a half).
    fn only_table_zero_finds(hash: &PdqHash) -> PdqHash {
        let mut w = hash.to_words();
        for bit in [33, 38, 45] {
            w[0] ^= 1 << bit;
        }
        for c in 1..8 {
            let (word, base) = (c / 2, if c % 2 == 0 { 32 } else { 0 });
            for bit in [1, 9, 17, 26] {
                w[word] ^= 1 << (base + bit);
            }
        }
        PdqHash::from_words(w)
    }

    /// Buckets just below, at and just over what a slot holds, and far over it, for every
    /// kind of slot (within a line, one line, several lines): each entry is found wherever
    /// it is (the header's places, a line's edges, the overflow), as a scan finds it, and
    /// a full slot with nothing over is not read past.
    #[test]
    fn buckets_around_a_slots_size_are_found_whole() {
        let mut next = xorshift(0x5107_5107_u64);
        for slot in [8, 16, 32, 64, 96] {
            let room = slot - HEADER;
            for size in [room - 1, room, room + 1, room + 17] {
                // A bucket of `size` hashes sharing the high half of chunk 0, among
                // random ones (whose buckets of that table are small).
                let shared = 0x1234u64 << 48;
                let mut hashes: Vec<PdqHash> = (0..size)
                    .map(|_| {
                        let w0 = shared | (next() & 0xffff_ffff_ffff);
                        PdqHash::from_words([w0, next(), next(), next()])
                    })
                    .collect();
                hashes.extend((0..3000).map(|_| {
                    let w0 = next() | 1 << 63; // never the shared half, 0x1234
                    PdqHash::from_words([w0, next(), next(), next()])
                }));
                let scan = PdqIndex::brute_force(&hashes, 31);
                let index = PdqIndex::build_with_slot(&hashes, 31, true, Some(slot));
                let mih = index.mih.as_ref().unwrap();
                assert_eq!(mih.slot, slot);
                assert_eq!(
                    mih.overflow[0].len(),
                    size.saturating_sub(room),
                    "slot {slot}, size {size}"
                );
                for (n, h) in hashes.iter().enumerate().take(size) {
                    let q = only_table_zero_finds(h);
                    let want = scan.search(&q);
                    assert!(
                        want.contains(&(n as u32, 31)),
                        "slot {slot}, size {size}, {n}"
                    );
                    assert_eq!(index.search(&q), want, "slot {slot}, size {size}, {n}");
                }
                // And the listed hashes themselves, and others near them, at 47 too.
                let wide_scan = PdqIndex::brute_force(&hashes, 47);
                let wide = PdqIndex::build_with_slot(&hashes, 47, true, Some(slot));
                for h in hashes.iter().step_by(7) {
                    assert_eq!(index.search(h), scan.search(h), "slot {slot}");
                    let mut w = h.to_words();
                    w[1] ^= next() & next() & next();
                    w[3] ^= next() & next();
                    let near = PdqHash::from_words(w);
                    assert_eq!(index.search(&near), scan.search(&near), "slot {slot}");
                    assert_eq!(wide.search(&near), wide_scan.search(&near), "slot {slot}");
                }
            }
        }
    }

    #[test]
    fn slot_sizes_follow_the_buckets() {
        // A few thousand random hashes: buckets of 0–4.
        let small = (0..BUCKETS).map(|v| v % 5 / 4);
        assert_eq!(slot_entries(small), 8);
        // Buckets of 14–17 (a million random hashes): one line, 29 places for entries.
        assert_eq!(slot_entries((0..BUCKETS).map(|v| 14 + v % 4)), 32);
        // One bucket in 256 may overflow, not more.
        let some_large =
            |every: usize| (0..BUCKETS).map(move |v| if v % every == 0 { 30 } else { 15 });
        assert_eq!(slot_entries(some_large(256)), 32);
        assert_eq!(slot_entries(some_large(200)), 64);
        // Ten million: ~153 a bucket.
        assert_eq!(slot_entries((0..BUCKETS).map(|v| 140 + v % 30)), 192);
        // Never beyond the count's 16 bits.
        assert_eq!(
            slot_entries((0..BUCKETS).map(|_| 100_000)),
            MAX_LINES * LINE
        );
    }

    #[test]
    fn memory_is_as_documented() {
        let hashes: Vec<PdqHash> = (0..5000u64)
            .map(|i| PdqHash::from_words([i, i.rotate_left(17), !i, i * 7]))
            .collect();
        let index = PdqIndex::multi_index(&hashes, 31);
        let mih = index.mih.as_ref().unwrap();
        // Some of these hashes' buckets are large (their high words are small numbers).
        let overflow: usize = mih.overflow.iter().map(|o| o.len() * 2).sum::<usize>()
            + mih
                .overflow_offsets
                .iter()
                .map(|o| o.len() * 4)
                .sum::<usize>();
        assert!(overflow > 0);
        let slots = TABLES * BUCKETS * mih.slot * 2;
        let per_hash = (index.heap_bytes() - slots - overflow) as f64 / 5000.0;
        // 32 for the hash, 16 × 4 for the ids, a little for the Vec headers.
        assert!((96.0..97.0).contains(&per_hash), "{per_hash}");
        // Random hashes: 8-place slots, nothing else beside the hashes and ids.
        let mut next = xorshift(7);
        let random: Vec<PdqHash> = (0..5000)
            .map(|_| PdqHash::from_words([next(), next(), next(), next()]))
            .collect();
        let index = PdqIndex::multi_index(&random, 31);
        let per_hash = (index.heap_bytes() - TABLES * BUCKETS * 8 * 2) as f64 / 5000.0;
        assert!((96.0..97.0).contains(&per_hash), "{per_hash}");
    }
}
