//! Staff: roles, passwords, TOTP and recovery codes.
//!
//! Passwords are hashed with Argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane). A password must be at least 12 characters and not guessable: the bundled
//! zxcvbn dictionaries (common passwords, names, words) must rate it 3 of 4 or better.
//! TOTP is RFC 6238 (SHA-1, 6 digits, 30 s, one step of skew); the caller records the
//! accepted step so a code cannot be replayed.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

crate::vocabulary::vocabulary! {
    /// What a staff account may do; the console's route table grants routes to roles.
    Role ("role") {
        Practitioner = "practitioner",
        Supervisor = "supervisor",
        Administrator = "administrator",
        Analyst = "analyst",
    }
}

impl Role {
    /// What an operator types: the stored names in any case, and the short `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Administrator),
            other => other.parse().ok(),
        }
    }
}

fn argon() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).unwrap_or_default(),
    )
}

/// An Argon2id PHC string for a password.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let Ok(salt) = SaltString::encode_b64(&salt) else {
        return String::new();
    };
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Recovery codes carry 50 random bits, so a lighter Argon2id than passwords' is enough to
/// make each guess against a stolen table costly; every code has its own salt.
fn argon_recovery() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4 * 1024, 1, 1, None).unwrap_or_default(),
    )
}

/// The stored form of a recovery code: a salted Argon2id PHC string.
pub fn recovery_code_hash(code: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let Ok(salt) = SaltString::encode_b64(&salt) else {
        return String::new();
    };
    argon_recovery()
        .hash_password(normalise_recovery_code(code).as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Whether a code as typed matches a stored recovery code: a salted Argon2id string, or
/// (from databases made before salting) a plain SHA-256 hex, compared in constant time.
pub fn recovery_code_matches(stored: &str, typed: &str) -> bool {
    let code = normalise_recovery_code(typed);
    if stored.starts_with("$argon2") {
        return PasswordHash::new(stored)
            .map(|h| {
                argon_recovery()
                    .verify_password(code.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
    }
    use subtle::ConstantTimeEq;
    token_hash(&code).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// A hash that takes as long as a real check, for unknown accounts (no timing oracle).
pub fn dummy_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("reachline dummy password for timing"));
    let _ = verify_password(phc, password);
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("use at least 12 characters")]
    TooShort,
    #[error("use at most 256 characters")]
    TooLong,
    #[error("this password is too common or easy to guess; try a few unrelated words")]
    Guessable,
    #[error("the two passwords are not the same")]
    Mismatch,
}

pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why a new password is not acceptable, if it is not.
pub fn password_problem(password: &str, username: &str) -> Option<PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some(PasswordProblem::TooShort);
    }
    if n > 256 {
        return Some(PasswordProblem::TooLong);
    }
    let entropy = zxcvbn::zxcvbn(password, &[username, "reachline", "helpline"]);
    if (entropy.score() as u8) < 3 {
        return Some(PasswordProblem::Guessable);
    }
    None
}

/// SHA-256 hex of a high-entropy secret (links, session tokens): these are 256 random bits,
/// so a fast hash is enough; only the hash is stored. (Recovery codes, shorter, are kept
/// with [`recovery_code_hash`].)
pub fn token_hash(secret: &str) -> String {
    hex::encode(token_digest(secret))
}

/// The SHA-256 of a token, as bytes: what [`token_hash`] writes out in hexadecimal.
pub fn token_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A random URL-safe token (256 bits).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

const CODE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Ten single-use recovery codes, `xxxxx-xxxxx` (50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut b = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut b);
            let s: String = b
                .iter()
                .map(|v| CODE_ALPHABET[(v & 31) as usize] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// A recovery code as typed, normalised for hashing.
pub fn normalise_recovery_code(input: &str) -> String {
    let s: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if s.len() == 10 {
        format!("{}-{}", &s[..5], &s[5..])
    } else {
        s
    }
}

pub mod totp {
    //! RFC 6238 codes through `totp-rs`, with the time passed in.
    use totp_rs::{Algorithm, Builder, Secret, Totp};

    pub const STEP: i64 = 30;

    pub fn new_secret() -> Vec<u8> {
        let mut b = vec![0u8; 20];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        b
    }

    fn totp(secret: &[u8], account: &str) -> Option<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(STEP as u64)
            .with_secret(Secret::from(secret.to_vec()))
            .with_issuer(Some("Reachline"))
            .with_account_name(account.replace(':', ""))
            .build()
            .ok()
    }

    /// The code for a moment (tests and the enrolment self-check use this).
    pub fn code_at(secret: &[u8], unix: i64) -> String {
        totp(secret, "x")
            .map(|t| t.generate(unix.max(0) as u64).to_string())
            .unwrap_or_default()
    }

    /// The time step a code belongs to, if it is valid now (± one step).
    pub fn check(secret: &[u8], code: &str, unix: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
        if code.len() != 6 {
            return None;
        }
        totp(secret, "x")?
            .check(&code, unix.max(0) as u64)
            .map(|step| step as i64)
    }

    /// The base32 secret a person types into an authenticator app.
    pub fn secret_base32(secret: &[u8]) -> String {
        Secret::from(secret.to_vec()).to_base32()
    }

    /// Reads a base32 secret back (what an authenticator app does with the typed key).
    pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
        Secret::try_from_base32(text.trim())
            .ok()
            .map(|s| s.as_ref().to_vec())
    }

    /// The `otpauth://` address the QR code carries.
    pub fn url(secret: &[u8], account: &str) -> String {
        totp(secret, account)
            .and_then(|t| t.to_url().ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_verify_and_are_checked() {
        let h = hash_password("correct horse battery staple");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery staple"));
        assert!(!verify_password(&h, "correct horse battery stapl"));
        assert!(!verify_password("not a hash", "x"));
        assert_eq!(
            password_problem("short", "sam"),
            Some(PasswordProblem::TooShort)
        );
        assert_eq!(
            password_problem("password1234", "sam"),
            Some(PasswordProblem::Guessable)
        );
        assert_eq!(
            password_problem("sam.sam.sam.sam", "sam.sam"),
            Some(PasswordProblem::Guessable)
        );
        assert_eq!(password_problem("violet kettle harbour 71", "sam"), None);
    }

    #[test]
    fn totp_matches_rfc_6238_and_rejects_stale_codes() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890": 8-digit 94287082 at
        // T=59, so the 6-digit code is its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(totp::code_at(secret, 59), "287082");
        assert_eq!(totp::code_at(secret, 1_111_111_109), "081804");
        assert_eq!(totp::check(secret, "287082", 59), Some(1));
        assert_eq!(totp::check(secret, "287 082", 75), Some(1));
        assert_eq!(totp::check(secret, "287082", 59 + 95), None);
        assert_eq!(totp::check(secret, "abc", 59), None);
        assert!(totp::url(secret, "sam").starts_with("otpauth://totp/Reachline:sam?"));
    }

    #[test]
    fn recovery_codes_are_stored_salted_and_slow_and_old_hashes_still_match() {
        let code = "abcde-fghjk";
        let a = recovery_code_hash(code);
        let b = recovery_code_hash(code);
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each code has its own salt");
        assert!(recovery_code_matches(&a, "ABCDE FGHJK"));
        assert!(!recovery_code_matches(&a, "abcde-fghjm"));
        let legacy = token_hash(&normalise_recovery_code(code));
        assert!(recovery_code_matches(&legacy, code));
        assert!(!recovery_code_matches(&legacy, "abcde-fghjm"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_forgiving() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let c = &codes[0];
        assert_eq!(
            normalise_recovery_code(&c.to_uppercase().replace('-', " ")),
            *c
        );
        assert_eq!(Role::parse("admin"), Some(Role::Administrator));
        assert_eq!(Role::parse("boss"), None);
    }
}
