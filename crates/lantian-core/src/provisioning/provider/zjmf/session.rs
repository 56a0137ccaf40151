//! The login: `POST /api/v1/auth` with the account and an API key → a JWT for `Authorization:
//! Bearer`. One JWT serves every call; it is renewed when it gets old (ZJMF's own resellers
//! keep it two hours) or when the upstream says it has ended.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::api::{Effect, exchange};
use crate::config::Secret;
use crate::provisioning::provider::ProvError;

/// Renewed a little before the two hours ZJMF's resellers keep a JWT.
const MAX_AGE: Duration = Duration::from_secs(110 * 60);

/// The credentials and the cached JWT. The mutex also makes concurrent callers wait for one
/// login instead of each making its own.
pub(super) struct Session {
    username: String,
    api_key: Secret,
    cached: Mutex<Option<Jwt>>,
}

struct Jwt {
    token: String,
    at: Instant,
}

impl Session {
    pub fn new(username: &str, api_key: Secret) -> Session {
        Session { username: username.to_owned(), api_key, cached: Mutex::new(None) }
    }

    /// The cached JWT, or a new one when there is none or it is old.
    pub async fn jwt(&self, http: &reqwest::Client, base: &str) -> Result<String, ProvError> {
        let mut cached = self.cached.lock().await;
        match cached.as_ref() {
            Some(jwt) if jwt.at.elapsed() < MAX_AGE => Ok(jwt.token.clone()),
            _ => self.login(&mut cached, http, base).await,
        }
    }

    /// A new JWT in place of `stale`, which the upstream refused; when another call has already
    /// replaced it, that one.
    pub async fn renew(&self, stale: &str, http: &reqwest::Client, base: &str) -> Result<String, ProvError> {
        let mut cached = self.cached.lock().await;
        match cached.as_ref() {
            Some(jwt) if jwt.token != stale => Ok(jwt.token.clone()),
            _ => self.login(&mut cached, http, base).await,
        }
    }

    /// A new JWT whatever is cached: the credentials checked now.
    pub async fn fresh(&self, http: &reqwest::Client, base: &str) -> Result<String, ProvError> {
        let mut cached = self.cached.lock().await;
        self.login(&mut cached, http, base).await
    }

    async fn login(&self, cached: &mut Option<Jwt>, http: &reqwest::Client, base: &str) -> Result<String, ProvError> {
        *cached = None;
        let body = json!({ "username": self.username, "password": self.api_key.expose() });
        let request = http.request(Method::POST, format!("{base}/api/v1/auth")).json(&body);
        let reply = exchange(request, "/api/v1/auth", Effect::Repeatable).await?;
        if matches!(reply.status, 400 | 401 | 403 | 405) {
            // 400 is how ZJMF refuses a wrong account or key, or a caller outside the key's IP
            // whitelist: nothing a retry changes.
            return Err(ProvError::Auth(format!("login refused: {}", reply.msg)));
        }
        let data = reply.data()?;
        let token = data.get("jwt").and_then(Value::as_str).filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| ProvError::Transient("/api/v1/auth: an answer without a JWT".into()))?;
        *cached = Some(Jwt { token: token.to_owned(), at: Instant::now() });
        Ok(token.to_owned())
    }
}
