//! The audit log's chain: each entry commits to the one before it.
//!
//! An entry's `hash` is HMAC-SHA256, under the audit data key, of the previous entry's hash
//! and this entry's fields. Altering, deleting, inserting or reordering any row breaks the
//! chain at that row, and recomputing the chain needs the key, which lives outside the
//! database (wrapped by the master key). The log never holds an IP address.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    /// Who acted: a staff username, or `system`.
    pub actor: String,
    /// What they did, e.g. `sign-in`, `concern.decide`.
    pub action: String,
    /// Which object, e.g. `staff:3`, `concern:12`; empty when none.
    pub object: String,
    /// A short, non-confidential detail (never content).
    pub detail: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

pub const GENESIS: [u8; 32] = [0u8; 32];

fn field(mac: &mut Hmac<Sha256>, bytes: &[u8]) {
    mac.update(&(bytes.len() as u64).to_be_bytes());
    mac.update(bytes);
}

/// The link hash of an entry with these fields after `prev`.
#[allow(clippy::too_many_arguments)]
pub fn link(
    key: &Key,
    prev: &[u8],
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return Vec::new();
    };
    field(&mut mac, b"reachline audit v1");
    field(&mut mac, prev);
    field(&mut mac, &seq.to_be_bytes());
    field(&mut mac, &at.to_be_bytes());
    field(&mut mac, actor.as_bytes());
    field(&mut mac, action.as_bytes());
    field(&mut mac, object.as_bytes());
    field(&mut mac, detail.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq} is broken: {reason}")]
pub struct Broken {
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks a whole log, given in stored order (by `seq`). Returns how many entries passed.
pub fn verify(key: &Key, entries: &[AuditEntry]) -> Result<usize, Broken> {
    let mut prev: Vec<u8> = GENESIS.to_vec();
    for (expected_seq, e) in (1i64..).zip(entries) {
        if e.seq != expected_seq {
            return Err(Broken {
                seq: e.seq,
                reason: if e.seq > expected_seq {
                    "entries before it are missing"
                } else {
                    "it is out of order or repeated"
                },
            });
        }
        if e.prev_hash != prev {
            return Err(Broken {
                seq: e.seq,
                reason: "it does not follow the entry before it",
            });
        }
        let expected = link(
            key, &prev, e.seq, e.at, &e.actor, &e.action, &e.object, &e.detail,
        );
        if expected != e.hash {
            return Err(Broken {
                seq: e.seq,
                reason: "its contents were changed",
            });
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(key: &Key, n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let (actor, action) = (format!("user{seq}"), "sign-in".to_string());
                let hash = link(key, &prev, seq, 100 + seq, &actor, &action, "", "");
                let e = AuditEntry {
                    seq,
                    at: 100 + seq,
                    actor,
                    action,
                    object: String::new(),
                    detail: String::new(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let key = Key::random();
        assert_eq!(verify(&key, &chain(&key, 5)), Ok(5));
        assert_eq!(verify(&key, &[]), Ok(0));
        assert!(verify(&Key::random(), &chain(&key, 2)).is_err());
    }

    #[test]
    fn alteration_deletion_insertion_and_reordering_are_named() {
        let key = Key::random();
        let good = chain(&key, 6);

        let mut altered = good.clone();
        altered[2].detail = "changed".into();
        assert_eq!(verify(&key, &altered).map_err(|b| b.seq), Err(3));

        let mut deleted = good.clone();
        deleted.remove(3);
        assert_eq!(verify(&key, &deleted).map_err(|b| b.seq), Err(5));

        let mut inserted = good.clone();
        let mut fake = good[1].clone();
        fake.seq = 3;
        inserted.insert(2, fake);
        assert_eq!(verify(&key, &inserted).map_err(|b| b.seq), Err(3));

        let mut reordered = good.clone();
        reordered.swap(1, 2);
        let (a, b) = (reordered[1].seq, reordered[2].seq);
        reordered[1].seq = b;
        reordered[2].seq = a;
        assert_eq!(verify(&key, &reordered).map_err(|b| b.seq), Err(2));
    }
}
