//! Keys and encryption at rest.
//!
//! The master key lives in a file only its owner can read (`master.key` in the data
//! directory). It never encrypts content itself: it wraps *data keys*, which are stored in the
//! database and do the sealing. Rotating the master key re-wraps data keys; it does not touch
//! content. A copy of the database alone therefore reveals no content.
//!
//! Sealed values are `version (1 byte) || nonce (24 bytes) || XChaCha20-Poly1305 ciphertext`,
//! with associated data naming what the value is, so a sealed value cannot be moved to
//! another row or purpose without failing to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use std::io::Write;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::sealing::Context;

const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the master key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the master key file {0} is not a valid key (expected 64 hexadecimal characters)")]
    Malformed(String),
    #[error("the master key file {0} can be read by other users; run `chmod 600` on it")]
    Permissions(String),
    #[error("a sealed value could not be opened (wrong key, or the value was altered)")]
    Open,
    #[error("a sealed value is malformed")]
    SealedFormat,
}

/// 256 bits of key material that is wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key(k)
    }
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Key(bytes)
    }
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Key(arr))
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key for one purpose, derived from this one (HKDF-SHA256).
    pub fn derive(&self, info: &str) -> Key {
        let hk = Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hk.expand(info.as_bytes(), &mut out);
        Key(out)
    }

    /// Encrypts `plaintext`; `context` is authenticated but not stored.
    pub fn seal(&self, context: Context<'_>, plaintext: &[u8]) -> Vec<u8> {
        let context = context.bytes();
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &context,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value made by [`Key::seal`] with the same `context`.
    pub fn open(&self, context: Context<'_>, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let context = context.bytes();
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEAL_VERSION {
            return Err(KeyError::SealedFormat);
        }
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..1 + NONCE_LEN]),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: &context,
                },
            )
            .map_err(|_| KeyError::Open)
    }
}

/// The operator's master key, kept in a file readable only by its owner.
#[derive(Debug, Clone)]
pub struct MasterKey(Key);

impl MasterKey {
    /// Loads the key file, or creates it (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let file_err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path)?;
                Ok((Self::parse(&text, path)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Key::random();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(file_err)?;
                f.write_all(format!("{}\n", hex::encode(key.as_bytes())).as_bytes())
                    .map_err(file_err)?;
                f.sync_all().map_err(file_err)?;
                Ok((MasterKey(key), true))
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// Loads an existing key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::File {
            path: path.display().to_string(),
            source,
        })?;
        check_private(path)?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| KeyError::Malformed(path.display().to_string()))?;
        Key::from_slice(&bytes)
            .map(MasterKey)
            .ok_or_else(|| KeyError::Malformed(path.display().to_string()))
    }

    pub fn from_key(key: Key) -> Self {
        MasterKey(key)
    }

    /// The raw key, for `reachline keys export` and restores, which write it only to new
    /// owner-only (0600) files.
    pub fn key_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Wraps a data key for storage in the database.
    pub fn wrap(&self, purpose: &str, version: i64, data_key: &Key) -> Vec<u8> {
        self.0.seal(
            Context::KeyringWrap { purpose, version },
            data_key.as_bytes(),
        )
    }

    /// Unwraps a data key read from the database.
    pub fn unwrap_key(&self, purpose: &str, version: i64, wrapped: &[u8]) -> Result<Key, KeyError> {
        let bytes = self
            .0
            .open(Context::KeyringWrap { purpose, version }, wrapped)?;
        Key::from_slice(&bytes).ok_or(KeyError::SealedFormat)
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyError::File {
        path: path.display().to_string(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::Permissions(path.display().to_string()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let k = Key::random();
        let sealed = k.seal(Context::Workbook { id: "row 1" }, b"a private answer");
        assert_eq!(
            k.open(Context::Workbook { id: "row 1" }, &sealed).ok(),
            Some(b"a private answer".to_vec())
        );
        assert!(k.open(Context::Workbook { id: "row 2" }, &sealed).is_err());
        assert!(Key::random()
            .open(Context::Workbook { id: "row 1" }, &sealed)
            .is_err());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(k.open(Context::Workbook { id: "row 1" }, &altered).is_err());
        assert!(k
            .open(Context::Workbook { id: "row 1" }, &[1, 2, 3])
            .is_err());
        assert!(!sealed.windows(7).any(|w| w == b"private"));
    }

    #[test]
    fn master_key_file_is_private_and_stable() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("master.key");
        let (a, created) = MasterKey::load_or_create(&path)?;
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }
        let (b, created) = MasterKey::load_or_create(&path)?;
        assert!(!created);
        let dk = Key::random();
        let wrapped = a.wrap("content", 1, &dk);
        assert_eq!(
            b.unwrap_key("content", 1, &wrapped)?.as_bytes(),
            dk.as_bytes()
        );
        assert!(b.unwrap_key("content", 2, &wrapped).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
            assert!(matches!(
                MasterKey::load(&path),
                Err(KeyError::Permissions(_))
            ));
        }
        Ok(())
    }
}
