//! Cryptography used across the product: the field-encryption key ring and blind indexes,
//! password hashing, random tokens, and masking for display.

pub mod keyring;
pub mod mask;
pub mod password;
pub mod token;

pub use keyring::{Aad, CryptoError, KeyRing};

/// HMAC-SHA256 of `parts`, concatenated, under `key`.
#[allow(clippy::expect_used)] // HMAC accepts keys of every length: `new_from_slice` cannot fail.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}
