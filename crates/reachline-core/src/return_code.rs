//! The return code: a help-seeker's only key.
//!
//! A code is 19 random symbols of Crockford's base32 (95 bits) and one check symbol, shown
//! as five groups of four (`7K3M-Q9TD-…`). Reading it back forgives case, spaces, hyphens and
//! the look-alikes I/L (one) and O (zero); the check symbol catches every single mistyped
//! symbol before any slow work is done.
//!
//! The server never stores the code. From it, one Argon2id computation gives a stretched
//! secret; the *lookup hash* (what the database stores to find the record) is an HMAC of that
//! secret under the server's pepper, and the *workbook key* (what encrypts the answers) is
//! derived from the secret alone by HKDF.

use crate::keys::Key;
use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use zeroize::Zeroizing;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DATA_SYMBOLS: usize = 19;
const ARGON2_SALT: &[u8] = b"reachline return code v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a return code has 20 letters and numbers")]
    Length,
    #[error("a return code uses only the letters and numbers it was shown with")]
    Symbol,
    #[error("this code does not look right: please check each letter and number")]
    Check,
}

/// A return code, held in normalised form (20 symbols, no separators).
#[derive(Clone, PartialEq, Eq)]
pub struct ReturnCode(Zeroizing<String>);

impl std::fmt::Debug for ReturnCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReturnCode(..)")
    }
}

/// What the server keeps or uses, derived from a code.
pub struct DerivedCode {
    /// Stored in the database to find the record (peppered).
    pub lookup: [u8; 32],
    /// Encrypts the record; never stored.
    pub key: Key,
}

fn value_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| a as char == c)
        .map(|p| p as u8)
}

fn check_symbol(values: &[u8]) -> u8 {
    // Odd weights are invertible mod 32, so any single substitution changes the sum.
    let sum: u32 = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (2 * i as u32 + 1) * u32::from(v))
        .sum();
    (sum % 32) as u8
}

impl ReturnCode {
    /// A new random code.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let values: Vec<u8> = (0..DATA_SYMBOLS).map(|_| rng.gen_range(0..32u8)).collect();
        let mut s = String::with_capacity(DATA_SYMBOLS + 1);
        for &v in &values {
            s.push(ALPHABET[v as usize] as char);
        }
        s.push(ALPHABET[check_symbol(&values) as usize] as char);
        ReturnCode(Zeroizing::new(s))
    }

    /// Reads a code as a person typed it.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let mut values = Vec::with_capacity(DATA_SYMBOLS + 1);
        for c in input.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            if values.len() > DATA_SYMBOLS {
                return Err(CodeError::Length);
            }
            values.push(value_of(c).ok_or(CodeError::Symbol)?);
        }
        if values.len() != DATA_SYMBOLS + 1 {
            return Err(CodeError::Length);
        }
        let (data, check) = values.split_at(DATA_SYMBOLS);
        if check_symbol(data) != check[0] {
            return Err(CodeError::Check);
        }
        let s: String = values
            .iter()
            .map(|&v| ALPHABET[v as usize] as char)
            .collect();
        Ok(ReturnCode(Zeroizing::new(s)))
    }

    /// The code grouped for writing down: `ABCD-EFGH-JKMN-PQRS-TVWX`.
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// A short keyed fingerprint of the code (40 bits of an HMAC under the pepper), stored
    /// beside what the code opens, so that a code that opens nothing is turned away without
    /// the slow derivation: guessing then costs the service nothing. 40 bits say nothing
    /// useful about a 95-bit code, and without the pepper (outside the database) nothing
    /// at all.
    pub fn hint(&self, pepper: &Key) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper.as_bytes()) else {
            return String::new();
        };
        mac.update(b"reachline return code hint v1");
        mac.update(self.0.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..5])
    }

    /// What attempts with this code are counted under (in memory only, for a minute): a
    /// keyed fingerprint, never the code.
    pub fn attempt_key(&self, pepper: &Key) -> [u8; 16] {
        let mut out = [0u8; 16];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper.as_bytes()) {
            mac.update(b"reachline return code attempts v1");
            mac.update(self.0.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        out
    }

    /// Derives the lookup hash and the workbook key. Deliberately slow (Argon2id, OWASP
    /// parameters: 19 MiB, 2 passes); callers limit how many run at once.
    pub fn derive(&self, pepper: &Key) -> DerivedCode {
        let mut stretched = Zeroizing::new([0u8; 32]);
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default(),
        );
        // Fixed inputs of valid sizes: hashing cannot fail.
        let _ = argon.hash_password_into(self.0.as_bytes(), ARGON2_SALT, stretched.as_mut());

        let mut lookup = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper.as_bytes()) {
            mac.update(b"reachline return code lookup v1");
            mac.update(stretched.as_ref());
            lookup.copy_from_slice(&mac.finalize().into_bytes());
        }
        let hk = Hkdf::<Sha256>::new(None, stretched.as_ref());
        let mut key = [0u8; 32];
        let _ = hk.expand(b"reachline workbook key v1", &mut key);
        DerivedCode {
            lookup,
            key: Key::from_bytes(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_forgivingly() -> Result<(), CodeError> {
        for _ in 0..50 {
            let code = ReturnCode::generate();
            let shown = code.display();
            assert_eq!(shown.len(), 24);
            assert_eq!(shown.matches('-').count(), 4);
            assert_eq!(ReturnCode::parse(&shown)?, code);
            let sloppy = shown
                .to_lowercase()
                .replace('-', " ")
                .replace('1', "l")
                .replace('0', "o");
            assert_eq!(ReturnCode::parse(&sloppy)?, code);
        }
        Ok(())
    }

    #[test]
    fn every_single_typo_is_caught() {
        let code = ReturnCode::generate();
        let s = code.display().replace('-', "");
        for i in 0..s.len() {
            for &a in ALPHABET {
                let mut b = s.clone().into_bytes();
                if b[i] == a {
                    continue;
                }
                b[i] = a;
                let typo = String::from_utf8_lossy(&b).into_owned();
                assert_eq!(ReturnCode::parse(&typo), Err(CodeError::Check), "{typo}");
            }
        }
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        assert_eq!(ReturnCode::parse(""), Err(CodeError::Length));
        assert_eq!(ReturnCode::parse("ABCD"), Err(CodeError::Length));
        assert_eq!(ReturnCode::parse(&"A".repeat(500)), Err(CodeError::Length));
        assert_eq!(
            ReturnCode::parse("ABCD-EFGH-JKMN-PQRS-TVW!"),
            Err(CodeError::Symbol)
        );
        assert_eq!(
            ReturnCode::parse("ABCD-EFGH-JKMN-PQRS-TVWÜ"),
            Err(CodeError::Symbol)
        );
    }

    #[test]
    fn derivation_is_stable_peppered_and_separates_lookup_from_key() {
        let code = ReturnCode::generate();
        let pepper = Key::random();
        let a = code.derive(&pepper);
        let b = code.derive(&pepper);
        assert_eq!(a.lookup, b.lookup);
        assert_eq!(a.key.as_bytes(), b.key.as_bytes());
        assert_ne!(&a.lookup, a.key.as_bytes());
        let other_pepper = code.derive(&Key::random());
        assert_ne!(a.lookup, other_pepper.lookup);
        assert_eq!(a.key.as_bytes(), other_pepper.key.as_bytes());
        assert_ne!(ReturnCode::generate().derive(&pepper).lookup, a.lookup);
    }
}
