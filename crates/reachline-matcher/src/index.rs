//! Nearest-neighbour search over PDQ hashes: multi-index hashing (MIH) with an exact
//! brute-force fallback.
//!
//! MIH splits the 256 bits into 16 chunks of 16 bits. If two hashes are within distance
//! `t`, then by the pigeonhole principle at least one chunk differs in at most
//! `r = t / 16` bits (otherwise every chunk differs in `r + 1` or more, and
//! `16 (r + 1) > t`). So for each chunk we look up every 16-bit value within `r` bits of
//! the query's chunk (17 values per chunk for `t = 31`) in a table of hashes by chunk
//! value, and check the full distance of each candidate. No hash within `t` is missed,
//! and only hashes within `t` are returned: the results are exactly a brute-force scan's.
//!
//! Small lists, and thresholds where the probe count explodes, use the scan itself.

use crate::pdq::PdqHash;

/// Below this many hashes a scan beats building 16 tables of 65,536 buckets.
pub const MIH_MIN_HASHES: usize = 4_096;

/// Above this chunk radius (`t / 16`) probing costs more than it saves.
const MIH_MAX_RADIUS: u32 = 2;

const CHUNKS: usize = 16;
const BUCKETS: usize = 1 << 16;

/// An immutable set of PDQ hashes searched at one distance threshold.
#[derive(Clone)]
pub struct PdqIndex {
    hashes: Vec<[u64; 4]>,
    threshold: u32,
    mih: Option<Mih>,
}

/// One table per chunk in compressed-row form: the ids of hashes whose chunk `c` equals
/// `v` are `ids[c][offsets[c][v]..offsets[c][v + 1]]`.
#[derive(Clone)]
struct Mih {
    offsets: Vec<Vec<u32>>,
    ids: Vec<Vec<u32>>,
    radius: u32,
}

#[inline]
fn chunk(words: &[u64; 4], c: usize) -> u16 {
    (words[c / 4] >> (48 - 16 * (c % 4))) as u16
}

#[inline]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Every 16-bit value within `radius` bits of `v`, `v` first.
fn neighbours(v: u16, radius: u32, out: &mut Vec<u16>) {
    out.clear();
    out.push(v);
    if radius >= 1 {
        for a in 0..16 {
            out.push(v ^ (1 << a));
        }
    }
    if radius >= 2 {
        for a in 0..16 {
            for b in a + 1..16 {
                out.push(v ^ (1 << a) ^ (1 << b));
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
        let use_mih = hashes.len() >= MIH_MIN_HASHES && threshold / 16 <= MIH_MAX_RADIUS;
        Self::build(hashes, threshold, use_mih)
    }

    /// Builds an index that always scans (for comparison and for small lists).
    pub fn brute_force(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, false)
    }

    /// Builds an index that always uses MIH, whatever the size (falls back to a scan only
    /// for thresholds of 48 and above).
    pub fn multi_index(hashes: &[PdqHash], threshold: u32) -> Self {
        Self::build(hashes, threshold, threshold / 16 <= MIH_MAX_RADIUS)
    }

    fn build(hashes: &[PdqHash], threshold: u32, use_mih: bool) -> Self {
        let words: Vec<[u64; 4]> = hashes.iter().map(PdqHash::to_words).collect();
        let mih = (use_mih && u32::try_from(words.len()).is_ok()).then(|| {
            let mut offsets = Vec::with_capacity(CHUNKS);
            let mut ids = Vec::with_capacity(CHUNKS);
            for c in 0..CHUNKS {
                // Counting sort of ids by chunk value.
                let mut off = vec![0u32; BUCKETS + 1];
                for w in &words {
                    off[chunk(w, c) as usize + 1] += 1;
                }
                for v in 0..BUCKETS {
                    off[v + 1] += off[v];
                }
                let mut next = off.clone();
                let mut table = vec![0u32; words.len()];
                for (id, w) in words.iter().enumerate() {
                    let slot = &mut next[chunk(w, c) as usize];
                    table[*slot as usize] = id as u32;
                    *slot += 1;
                }
                offsets.push(off);
                ids.push(table);
            }
            Mih {
                offsets,
                ids,
                radius: threshold / 16,
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
            let d = distance(&q, h);
            if d <= self.threshold {
                out.push((id as u32, d));
            }
        }
        out
    }

    fn search_mih(&self, mih: &Mih, query: &PdqHash) -> Vec<(u32, u32)> {
        let q = query.to_words();
        let mut probes = Vec::with_capacity(1 + 16 + 120);
        let mut candidates: Vec<u32> = Vec::new();
        for c in 0..CHUNKS {
            neighbours(chunk(&q, c), mih.radius, &mut probes);
            for &v in &probes {
                candidates.extend_from_slice(mih.bucket(c, v));
            }
        }
        // Verify each candidate once (a hash close in several chunks is found once per
        // chunk), in id order: that walks the hash array front to back, which is kinder
        // to caches and the TLB than random order once the list outgrows the cache.
        candidates.sort_unstable();
        candidates.dedup();
        let mut out = Vec::new();
        for id in candidates {
            let d = distance(&q, &self.hashes[id as usize]);
            if d <= self.threshold {
                out.push((id, d));
            }
        }
        out
    }
}

impl Mih {
    /// Ids of the hashes whose chunk `c` has value `v`.
    #[inline]
    fn bucket(&self, c: usize, v: u16) -> &[u32] {
        let offsets = &self.offsets[c];
        let (a, b) = (
            offsets[v as usize] as usize,
            offsets[v as usize + 1] as usize,
        );
        &self.ids[c][a..b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_all_bits_once() {
        let w = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 1, 1 << 63];
        assert_eq!(chunk(&w, 0), 0x0123);
        assert_eq!(chunk(&w, 3), 0xcdef);
        assert_eq!(chunk(&w, 4), 0xfedc);
        assert_eq!(chunk(&w, 11), 1);
        assert_eq!(chunk(&w, 12), 0x8000);
    }

    #[test]
    fn neighbour_counts() {
        let mut v = Vec::new();
        neighbours(7, 0, &mut v);
        assert_eq!(v.len(), 1);
        neighbours(7, 1, &mut v);
        assert_eq!(v.len(), 17);
        neighbours(7, 2, &mut v);
        assert_eq!(v.len(), 137);
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 137);
    }
}
