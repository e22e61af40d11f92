//! The audit log's chain: each entry commits to the one before it.
//!
//! An entry's `hash` is HMAC-SHA256, under the audit data key, of the previous entry's hash
//! and this entry's fields. Altering, deleting, inserting or reordering any row breaks the
//! chain at that row, and recomputing the chain needs the key, which lives outside the
//! database (wrapped by the master key). The log never holds an IP address.
//!
//! Deleting the newest entries leaves a chain that is valid as far as it goes, so the chain
//! also has a recorded [`Head`]: the newest entry's sequence number and hash with an HMAC,
//! written in the same transaction as each entry. A chain that ends before its head (or has
//! none) is broken. An operator can also export the head (`reachline audit head`) and later
//! check that the chain still holds it (`audit verify --expect-head`), which a copy of an old
//! head row restored by someone with database access cannot fool.

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

/// The chain's recorded head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub mac: Vec<u8>,
}

/// The HMAC that binds a head to the audit key.
pub fn head_mac(key: &Key, seq: i64, hash: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return Vec::new();
    };
    field(&mut mac, b"reachline audit head v1");
    field(&mut mac, &seq.to_be_bytes());
    field(&mut mac, hash);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a whole log and its recorded head: the chain (see [`verify`]) must end exactly at
/// the head, and the head must carry the audit key's HMAC. An empty log needs no head.
pub fn verify_with_head(
    key: &Key,
    entries: &[AuditEntry],
    head: Option<&Head>,
) -> Result<usize, Broken> {
    let n = verify(key, entries)?;
    let last = entries.last();
    let next = last.map(|e| e.seq + 1).unwrap_or(1);
    match (last, head) {
        (None, None) => Ok(n),
        (Some(_), None) => Err(Broken {
            seq: next,
            reason: "the chain's head is not recorded (the newest entries may be missing)",
        }),
        (_, Some(h)) if h.mac != head_mac(key, h.seq, &h.hash) => Err(Broken {
            seq: h.seq,
            reason: "its recorded head was changed",
        }),
        (None, Some(h)) => Err(Broken {
            seq: h.seq.min(1),
            reason: "the newest entries are missing: the chain ends before its recorded head",
        }),
        (Some(e), Some(h)) if e.seq < h.seq => Err(Broken {
            seq: next,
            reason: "the newest entries are missing: the chain ends before its recorded head",
        }),
        (Some(e), Some(h)) if e.seq != h.seq || e.hash != h.hash => Err(Broken {
            seq: e.seq,
            reason: "it is not the chain's recorded head",
        }),
        _ => Ok(n),
    }
}

/// Whether the chain holds entry `seq` with this hash (an operator's exported head).
pub fn holds(entries: &[AuditEntry], seq: i64, hash: &[u8]) -> Result<(), Broken> {
    match entries.iter().find(|e| e.seq == seq) {
        Some(e) if e.hash == hash => Ok(()),
        Some(_) => Err(Broken {
            seq,
            reason: "it is not the entry whose head was exported",
        }),
        None => Err(Broken {
            seq,
            reason: "the exported head is missing: the newest entries were removed",
        }),
    }
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

    #[test]
    fn a_chain_cut_short_of_its_head_is_broken() {
        let key = Key::random();
        let entries = chain(&key, 5);
        let last = entries.last().unwrap();
        let head = Head {
            seq: 5,
            hash: last.hash.clone(),
            mac: head_mac(&key, 5, &last.hash),
        };
        assert_eq!(verify_with_head(&key, &entries, Some(&head)), Ok(5));
        let cut = &entries[..3];
        assert_eq!(verify_with_head(&key, cut, Some(&head)).unwrap_err().seq, 4);
        assert_eq!(verify_with_head(&key, cut, None).unwrap_err().seq, 4);
        let forged = Head {
            seq: 3,
            hash: cut[2].hash.clone(),
            mac: vec![0; 32],
        };
        assert!(verify_with_head(&key, cut, Some(&forged)).is_err());
        assert!(holds(&entries, 5, &last.hash).is_ok());
        assert_eq!(holds(cut, 5, &last.hash).unwrap_err().seq, 5);
        assert_eq!(verify_with_head(&key, &[], None), Ok(0));
    }

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
