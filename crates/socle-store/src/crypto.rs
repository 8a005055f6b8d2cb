//! Secrets at rest: values are sealed with ChaCha20-Poly1305 under the store's key before they
//! reach the database, and opened only in memory.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;

use crate::StoreError;

/// The 32-byte key that seals secrets in the store.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill(&mut k);
        Self(k)
    }

    /// From base64 (as in `SOCLE_SECRET_KEY`).
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| StoreError::User(format!("the secret key is not base64: {e}")))?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| {
            StoreError::User("the secret key must be 32 bytes (base64 of 32 random bytes)".into())
        })?;
        Ok(Self(k))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads the key file, or creates it (mode 0600) with a new random key.
    pub fn load_or_create(path: &std::path::Path) -> Result<Self, StoreError> {
        let io = |source: std::io::Error| StoreError::DataDir {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                use std::io::Write;
                let mut f = opts.open(path).map_err(io)?;
                f.write_all(key.to_base64().as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// `base64(nonce ‖ ciphertext)`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let cipher = ChaCha20Poly1305::new(&Key::from(self.0));
        let mut nonce = [0u8; 12];
        rand::rng().fill(&mut nonce);
        let ct = cipher
            .encrypt(&Nonce::from(nonce), plaintext)
            .expect("ChaCha20-Poly1305 encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, StoreError> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|e| StoreError::Corrupt(format!("sealed value is not base64: {e}")))?;
        if bytes.len() < 12 {
            return Err(StoreError::Corrupt("sealed value too short".into()));
        }
        let cipher = ChaCha20Poly1305::new(&Key::from(self.0));
        let nonce: [u8; 12] = bytes[..12].try_into().expect("length checked");
        cipher
            .decrypt(&Nonce::from(nonce), &bytes[12..])
            .map_err(|_| StoreError::User("cannot decrypt stored secrets: the secret key is not the one they were sealed with".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper() {
        let k = SecretKey::generate();
        let sealed = k.seal(b"s3cr3t");
        assert!(!sealed.contains("s3cr3t"));
        assert_ne!(sealed, k.seal(b"s3cr3t"), "fresh nonce every time");
        assert_eq!(k.open(&sealed).unwrap(), b"s3cr3t");
        assert!(SecretKey::generate().open(&sealed).is_err());
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(k.open(&STANDARD.encode(bytes)).is_err());
        assert_eq!(SecretKey::from_base64(&k.to_base64()).unwrap().0, k.0);
    }
}
