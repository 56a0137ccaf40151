//! V2's signatures: SHA256withRSA (PKCS#1 v1.5), base64, over
//! [`super::signing::content`]. The merchant signs requests with its
//! private key; the platform signs replies and notifications with its own.

use std::fmt;
use std::io;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::{PrivateKey, PublicKey};

/// An RSA key pair: the fake's platform key, or a merchant key a test
/// configures its client with.
#[derive(Clone)]
pub struct RsaKeyPair {
    private: PrivateKey,
    public_pem: String,
}

impl RsaKeyPair {
    /// Generates a key pair of `bits` (at least 1024; 2048 is what merchant
    /// back-ends issue). Slow in unoptimised builds: generate once per test
    /// binary and clone.
    pub fn generate(bits: usize) -> io::Result<RsaKeyPair> {
        // rsa 0.10 takes a rand_core 0.10 RNG, which rand 0.9 does not
        // provide; getrandom's is the operating system's own.
        let private = PrivateKey::new(&mut getrandom::SysRng, bits).map_err(io::Error::other)?;
        let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).map_err(io::Error::other)?;
        Ok(RsaKeyPair { private, public_pem })
    }

    /// A key pair from a PKCS#8 private key PEM: tests use fixed keys, since generating one
    /// takes seconds in an unoptimised build and every test runs in its own process.
    pub fn from_private_key_pem(pem: &str) -> io::Result<RsaKeyPair> {
        let private = PrivateKey::from_pkcs8_pem(pem).map_err(io::Error::other)?;
        let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).map_err(io::Error::other)?;
        Ok(RsaKeyPair { private, public_pem })
    }

    /// The public key as PKCS#8 PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), to
    /// configure a client under test with.
    pub fn private_key_pem(&self) -> io::Result<String> {
        Ok(self.private.to_pkcs8_pem(LineEnding::LF).map_err(io::Error::other)?.to_string())
    }

    /// The base64 signature of `content`.
    pub(super) fn sign(&self, content: &str) -> String {
        // Signing only fails for keys too small for SHA-256, which
        // `generate` never makes; an empty signature verifies against nothing.
        self.private.pkcs1v15_sign::<Sha256>(content.as_bytes()).map(|sig| BASE64.encode(sig)).unwrap_or_default()
    }
}

impl fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key, not even in a test's failure output.
        f.debug_struct("RsaKeyPair").field("public_pem", &self.public_pem).finish_non_exhaustive()
    }
}

/// Reads a public key given as SPKI PEM, PKCS#1 PEM, or the bare base64 of
/// the SPKI DER (what merchant back-ends show).
pub(super) fn parse_public_key(text: &str) -> Option<PublicKey> {
    let text = text.trim();
    if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        return PublicKey::from_public_key_pem(text).ok();
    }
    if text.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        return PublicKey::from_pkcs1_pem(text).ok();
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    PublicKey::from_public_key_der(&BASE64.decode(compact).ok()?).ok()
}

/// Whether `signature` (base64) is `key`'s signature of `content`.
pub(super) fn verify(key: &PublicKey, content: &str, signature: &str) -> bool {
    let Ok(signature) = BASE64.decode(signature.trim()) else {
        return false;
    };
    key.pkcs1v15_verify::<Sha256>(content.as_bytes(), &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPublicKey;

    use super::*;
    use crate::epay::tests::keys;

    #[test]
    fn signs_and_verifies_round_trip() {
        let pair = keys().platform.clone();
        let public = parse_public_key(&pair.public_key_pem()).unwrap();
        let content = "money=12.50&name=云服务器&pid=1001&timestamp=1735689600";
        let signature = pair.sign(content);
        // 2048-bit key: 256 bytes, 344 base64 characters.
        assert_eq!(signature.len(), 344, "{signature}");
        assert!(verify(&public, content, &signature));
        assert!(!verify(&public, "money=12.51&name=云服务器&pid=1001&timestamp=1735689600", &signature));
        assert!(!verify(&public, content, "not base64!"));
        let other = parse_public_key(&keys().merchant.public_key_pem()).unwrap();
        assert!(!verify(&other, content, &signature));
        // PKCS#1 v1.5 is deterministic: the same content, the same signature.
        assert_eq!(pair.sign(content), signature);
    }

    #[test]
    fn reads_public_keys_in_every_pasted_form() {
        let pair = &keys().merchant;
        let spki = pair.public_key_pem();
        let expected = parse_public_key(&spki).unwrap();
        let bare: String = spki.lines().filter(|line| !line.starts_with("-----")).collect();
        assert_eq!(parse_public_key(&bare).as_ref(), Some(&expected));
        let pkcs1 = expected.to_pkcs1_pem(LineEnding::CRLF).unwrap();
        assert_eq!(parse_public_key(&pkcs1).as_ref(), Some(&expected));
        assert!(parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_none());
        assert!(parse_public_key("not a key").is_none());
        assert!(pair.private_key_pem().unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{pair:?}").contains("PRIVATE"));
    }
}
