//! Password hashing: Argon2id with the configured (OWASP) parameters, on a bounded blocking
//! pool so a burst of logins cannot starve the async runtime. A stored hash made with other
//! parameters verifies and is reported for rehashing.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::config::SecurityConfig;
use crate::{Error, Result};

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of nothing in particular, verified against when the account does not exist, so
    /// "no such user" costs the same time as "wrong password".
    dummy: Arc<std::sync::OnceLock<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Right password, but the stored hash uses old parameters: store a new hash.
    YesRehash,
}

impl Passwords {
    pub fn new(cfg: &SecurityConfig) -> Passwords {
        let params = params_of(cfg).unwrap_or_default();
        // One core is always left to the async runtime: a login flood slows logins, never
        // every other request.
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let permits = Arc::new(Semaphore::new(cores.saturating_sub(1).max(1)));
        Passwords { params, permits, dummy: Arc::new(std::sync::OnceLock::new()) }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|e| Error::Internal(e.into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| Error::Internal(e.into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let argon = self.argon2();
        self.blocking(move || argon.hash_password(&pw).map(|h| h.to_string()))
            .await?
            .map_err(|e| Error::Internal(anyhow::anyhow!("password hashing failed: {e}")))
    }

    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verified> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let stored = stored.to_string();
        let argon = self.argon2();
        let current = self.params.clone();
        self.blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else { return Verified::No };
            if argon.verify_password(&pw, &parsed).is_err() {
                return Verified::No;
            }
            let same = Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == current.m_cost() && p.t_cost() == current.t_cost() && p.p_cost() == current.p_cost()
            });
            if same && parsed.algorithm.as_str() == "argon2id" { Verified::Yes } else { Verified::YesRehash }
        })
        .await
    }

    /// Spends the time of one verification and answers no.
    pub async fn verify_nobody(&self, password: &str) -> Result<Verified> {
        let dummy = match self.dummy.get() {
            Some(d) => d.clone(),
            None => {
                let d = self.hash("no account has this password").await?;
                self.dummy.get_or_init(|| d).clone()
            }
        };
        self.verify(password, &dummy).await.map(|_| Verified::No)
    }
}

pub fn params_of(cfg: &SecurityConfig) -> std::result::Result<Params, String> {
    Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, cfg.argon2_parallelism, None).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> SecurityConfig {
        SecurityConfig { argon2_memory_kib: 64, argon2_iterations: 1, argon2_parallelism: 1 }
    }

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let p = Passwords::new(&cheap());
        let a = p.hash("correct horse battery").await.unwrap();
        let b = p.hash("correct horse battery").await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_eq!(p.verify("correct horse battery", &a).await.unwrap(), Verified::Yes);
        assert_eq!(p.verify("wrong", &a).await.unwrap(), Verified::No);
        assert_eq!(p.verify("x", "not a hash").await.unwrap(), Verified::No);
        assert_eq!(p.verify_nobody("x").await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn changed_parameters_ask_for_a_rehash() {
        let old = Passwords::new(&cheap());
        let h = old.hash("pw-pw-pw-pw").await.unwrap();
        let new = Passwords::new(&SecurityConfig { argon2_iterations: 2, ..cheap() });
        assert_eq!(new.verify("pw-pw-pw-pw", &h).await.unwrap(), Verified::YesRehash);
    }

    #[tokio::test]
    async fn production_parameters_are_owasps() {
        let cfg = crate::Config::load_with_env(None, figment::providers::Env::raw().only(&[])).unwrap();
        let p = Passwords::new(&cfg.security);
        let h = p.hash("a production password").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(p.verify("a production password", &h).await.unwrap(), Verified::Yes);
    }
}
