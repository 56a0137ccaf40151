//! Field encryption with a key ring: XChaCha20-Poly1305 (random 192-bit nonces, no nonce
//! bookkeeping), each value sealed in an envelope `v1.<key id>.<base64url(nonce ‖ ciphertext)>`
//! bound to where it lives (AAD = table, column, row), so a value copied to another row or
//! column does not decrypt. HMAC-SHA256 blind indexes find rows by an encrypted value.
//!
//! Keys come from a key file or the configuration, never from the database: a stolen
//! database (or backup) alone reveals nothing sensitive.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;

/// Where a sealed value lives. A value only opens in the place it was sealed for.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// A stable identifier of the row known before it is written, e.g. `staff:7`.
    pub row: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        [self.table, self.column, self.row].join("\u{1f}").into_bytes()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the value was sealed with key `{0}`, which is not in the key ring")]
    UnknownKey(String),
    #[error("the value does not open here: tampered with, or moved from another row or column")]
    Tampered,
    #[error("not an encrypted value")]
    Malformed,
}

/// The key file: `active` names the key new values are sealed with; every key that ever sealed
/// a value stays until no row uses it; `index` keys the blind indexes.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub active: String,
    pub index: String,
    pub keys: BTreeMap<String, String>,
}

impl KeyFile {
    /// A new file with one fresh key `k1`.
    pub fn generate() -> KeyFile {
        let mut keys = BTreeMap::new();
        keys.insert("k1".to_string(), random_key());
        KeyFile { active: "k1".into(), index: random_key(), keys }
    }

    /// Adds a fresh key and makes it the active one; returns its id.
    pub fn rotate(&mut self) -> String {
        let n = self.keys.keys().filter_map(|k| k.strip_prefix('k')?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        let id = format!("k{n}");
        self.keys.insert(id.clone(), random_key());
        self.active = id.clone();
        id
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("# Lantian encryption keys. Keep secret; back up separately from the database.\n{body}")
    }
}

fn random_key() -> String {
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    B64.encode(k)
}

/// Never prints key material.
impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The key ring the configuration names: `keys.file`, or the file's content in `keys.inline`.
pub fn from_config(cfg: &crate::config::KeysConfig) -> Result<KeyRing, String> {
    if !cfg.file.is_empty() {
        return KeyRing::load(Path::new(&cfg.file));
    }
    if !cfg.inline.expose().is_empty() {
        return KeyRing::from_file_text(cfg.inline.expose());
    }
    Err("no encryption keys are configured: create a key file with `lantian keys generate --file PATH` \
         and set keys.file (LANTIAN__KEYS__FILE) to it"
        .into())
}

pub struct KeyRing {
    active: String,
    keys: BTreeMap<String, XChaCha20Poly1305>,
    index: Zeroizing<Vec<u8>>,
}

impl KeyRing {
    pub fn from_file_text(text: &str) -> Result<KeyRing, String> {
        let file: KeyFile = toml::from_str(text).map_err(|e| format!("the key file is not valid: {e}"))?;
        Self::from_key_file(&file)
    }

    pub fn load(path: &Path) -> Result<KeyRing, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
        Self::from_file_text(&text)
    }

    pub fn from_key_file(file: &KeyFile) -> Result<KeyRing, String> {
        let decode = |name: &str, v: &str| -> Result<Zeroizing<Vec<u8>>, String> {
            let bytes = Zeroizing::new(B64.decode(v.trim()).map_err(|_| format!("key `{name}` is not base64url"))?);
            if bytes.len() != 32 {
                return Err(format!("key `{name}` must be 32 bytes"));
            }
            Ok(bytes)
        };
        let mut keys = BTreeMap::new();
        for (id, v) in &file.keys {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("key id `{id}` must be letters and digits"));
            }
            let k = decode(id, v)?;
            let cipher = XChaCha20Poly1305::new_from_slice(&k).map_err(|_| format!("key `{id}` is unusable"))?;
            keys.insert(id.clone(), cipher);
        }
        if !keys.contains_key(&file.active) {
            return Err(format!("the active key `{}` is not among the keys", file.active));
        }
        Ok(KeyRing { active: file.active.clone(), keys, index: decode("index", &file.index)? })
    }

    pub fn active_kid(&self) -> &str {
        &self.active
    }

    /// The envelope prefix of values sealed with the active key (`v1.k2.`).
    pub fn active_prefix(&self) -> String {
        format!("{VERSION}.{}.", self.active)
    }

    pub fn seal(&self, plaintext: &[u8], aad: Aad<'_>) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = &self.keys[&self.active];
        // Encryption with a valid key and in-memory buffers cannot fail.
        let ct =
            cipher.encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &aad.bytes() }).unwrap_or_default();
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ct);
        format!("{VERSION}.{}.{}", self.active, B64.encode(raw))
    }

    pub fn seal_str(&self, plaintext: &str, aad: Aad<'_>) -> String {
        self.seal(plaintext.as_bytes(), aad)
    }

    pub fn open(&self, envelope: &str, aad: Aad<'_>) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut parts = envelope.splitn(3, '.');
        let (Some(VERSION), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Malformed);
        };
        let cipher = self.keys.get(kid).ok_or_else(|| CryptoError::UnknownKey(kid.to_string()))?;
        let raw = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Malformed)?;
        cipher
            .decrypt(&nonce, Payload { msg: ct, aad: &aad.bytes() })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Tampered)
    }

    pub fn open_str(&self, envelope: &str, aad: Aad<'_>) -> Result<Zeroizing<String>, CryptoError> {
        let bytes = self.open(envelope, aad)?;
        String::from_utf8(bytes.to_vec()).map(Zeroizing::new).map_err(|_| CryptoError::Malformed)
    }

    /// A keyed hash of a normalised value, to find or deduplicate rows by a value stored
    /// encrypted. `purpose` separates indexes, so equal values in two columns do not match.
    pub fn blind_index(&self, purpose: &str, normalized: &str) -> String {
        super::token::hex(&super::hmac_sha256(&self.index, &[purpose.as_bytes(), &[0], normalized.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> (KeyFile, KeyRing) {
        let f = KeyFile::generate();
        let r = KeyRing::from_key_file(&f).unwrap();
        (f, r)
    }

    const AAD: Aad<'static> = Aad { table: "totp_factors", column: "secret", row: "staff:1" };

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let (_, r) = ring();
        let a = r.seal_str("JBSWY3DPEHPK3PXP", AAD);
        let b = r.seal_str("JBSWY3DPEHPK3PXP", AAD);
        assert_ne!(a, b, "random nonces");
        assert!(a.starts_with("v1.k1.") && !a.contains("JBSW"));
        assert_eq!(&*r.open_str(&a, AAD).unwrap(), "JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn a_value_does_not_open_in_another_row_or_column() {
        let (_, r) = ring();
        let a = r.seal_str("secret", AAD);
        assert_eq!(r.open(&a, Aad { row: "staff:2", ..AAD }).unwrap_err(), CryptoError::Tampered);
        assert_eq!(r.open(&a, Aad { column: "other", ..AAD }).unwrap_err(), CryptoError::Tampered);
    }

    #[test]
    fn tampered_malformed_and_unknown_key_are_refused() {
        let (_, r) = ring();
        let a = r.seal_str("secret", AAD);
        let mut chars: Vec<char> = a.chars().collect();
        // A character in the middle: still valid base64, so only the AEAD tag can notice.
        let mid = chars.len() - 12;
        chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
        let flipped: String = chars.into_iter().collect();
        assert_eq!(r.open(&flipped, AAD).unwrap_err(), CryptoError::Tampered);
        assert_eq!(r.open("plain text", AAD).unwrap_err(), CryptoError::Malformed);
        assert_eq!(r.open("v1.k1.AAAA", AAD).unwrap_err(), CryptoError::Malformed);
        let other = a.replacen("v1.k1.", "v1.k9.", 1);
        assert_eq!(r.open(&other, AAD).unwrap_err(), CryptoError::UnknownKey("k9".into()));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let (mut f, r1) = ring();
        let old = r1.seal_str("secret", AAD);
        assert_eq!(f.rotate(), "k2");
        let r2 = KeyRing::from_file_text(&f.to_toml()).unwrap();
        assert_eq!(r2.active_kid(), "k2");
        assert_eq!(&*r2.open_str(&old, AAD).unwrap(), "secret");
        assert!(r2.seal_str("x", AAD).starts_with("v1.k2."));
        assert_eq!(r1.blind_index("id", "110101"), r2.blind_index("id", "110101"), "index key unchanged");
    }

    #[test]
    fn blind_index_is_keyed_and_separated_by_purpose() {
        let (_, a) = ring();
        let (_, b) = ring();
        assert_eq!(a.blind_index("phone", "+8613800000000"), a.blind_index("phone", "+8613800000000"));
        assert_ne!(a.blind_index("phone", "+8613800000000"), a.blind_index("qq", "+8613800000000"));
        assert_ne!(a.blind_index("phone", "+8613800000000"), b.blind_index("phone", "+8613800000000"));
    }

    #[test]
    fn bad_key_files_are_refused_with_reasons() {
        assert!(KeyRing::from_file_text("nonsense").unwrap_err().contains("not valid"));
        let mut f = KeyFile::generate();
        f.active = "k7".into();
        assert!(KeyRing::from_key_file(&f).err().unwrap().contains("k7"));
        let mut f = KeyFile::generate();
        f.keys.insert("k2".into(), "c2hvcnQ".into());
        assert!(KeyRing::from_key_file(&f).err().unwrap().contains("32 bytes"));
    }
}
