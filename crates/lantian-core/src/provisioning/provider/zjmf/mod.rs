//! 魔方业务系统 V10 (ZJMF-CBAP) as an upstream: we are its reseller (下游), buying servers
//! with the account's prepaid balance through its client API (research
//! `provisioning-upstreams.md` §2a; idcsmart/ZJMF-CBAP 10.4.6).
//!
//! - Login: `POST /api/v1/auth` with the account's e-mail or phone and an API key from its
//!   client area → a JWT, cached ([`session`]) and renewed when old or when a call answers
//!   "not logged in" (body status 401/405), once; refused again → [`ProvError::Auth`].
//! - Every answer is HTTP 200 with `{status, msg, data}`; [`api`] classifies the rest.
//! - A create ([`create`]) is a few steps, each with at most one call that could buy twice.
//!   Our key reaches the upstream three ways: as `downstream_host_id` (the service id) plus
//!   `downstream_token` (derived from the key) on the order, which the upstream checks when we
//!   clear the cart (an unpaid order for them comes back to be paid; a paid one is refused);
//!   as the host id in the stored checkpoint; and as the host's client notes
//!   (`lantian:<key>`), which [`Provider::find_by_key`] searches and [`Provider::list`]
//!   reports.
//! - Power goes through the 魔方云 (`mf_cloud`) server module's client calls, the module
//!   V10 sells cloud servers with; products of other modules have no power calls here.
//!
//! The upstream receives [`DISCLOSED_FIELDS`] and nothing else (C3.5): the plan's values as
//! `config_options` of the cart (`hostname`, `cpu`, `memory` MB, `system_disk_size` GB, `bw`
//! Mbit/s, `os`, `months`, `password` or `ssh_key`: the upstream product must take these), and
//! the customer's pseudonym and real-name status as the order's `customfield`
//! (`downstream_customer`, `real_name_verified`).
//!
//! The cart belongs to the account, not to a session: two creates interleaving their
//! clear/add/settle would buy each other's servers. One [`Zjmf`] serialises its own creates;
//! two processes must not share an upstream account.

mod api;
mod create;
mod host;
mod renew;
mod session;

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;

use super::{Caps, Checkpoint, CreateRequest, CreateStep, Handle, OpRef, OpState, PowerAction, Progress, ProvError};
use super::{Provider, RemoteServer, Status};
use crate::config::Secret;
use api::Api;

/// What the upstream receives of a create, as the disclosure ledger names the fields.
pub const DISCLOSED_FIELDS: &[&str] =
    &["customer_ref", "real_name_verified", "hostname", "plan", "os_image", "months", "password_or_ssh_key"];

/// How to reach one upstream account.
#[derive(Debug, Clone)]
pub struct ZjmfSettings {
    /// The upstream's address, `https://HOST[:PORT][/PATH]` (`http://` only on loopback, for
    /// tests and the demo).
    pub endpoint: String,
    /// The account's login: its e-mail or phone at the upstream (4 to 20 characters).
    pub username: String,
    /// An API key (API密钥) from the account's client area; the login's password.
    pub api_key: Secret,
    /// For each HTTP call.
    pub timeout: Duration,
    /// How long to wait before looking again at an order or a host still opening.
    pub poll_after: Duration,
}

impl ZjmfSettings {
    pub fn validate(&self) -> Result<(), String> {
        let url = Url::parse(&self.endpoint)
            .ok()
            .filter(|u| u.has_host() && u.username().is_empty() && u.password().is_none() && u.query().is_none());
        let url = url
            .filter(|u| u.fragment().is_none())
            .ok_or("zjmf endpoint: expected https://HOST[:PORT][/PATH] without user, query or fragment".to_owned())?;
        if !(url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url))) {
            return Err("zjmf endpoint: https:// is required (http:// only for 127.0.0.1, ::1 or localhost): \
                        the API key, the JWT and server passwords travel on it"
                .to_owned());
        }
        if !(4..=20).contains(&self.username.chars().count()) {
            return Err("zjmf username: the account's e-mail or phone, 4 to 20 characters (the upstream \
                        refuses other lengths)"
                .to_owned());
        }
        if self.api_key.expose().is_empty() {
            return Err("zjmf api_key: an API key (API密钥) from the upstream's client area is required".to_owned());
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(120)).contains(&self.timeout) {
            return Err("zjmf timeout: expected 1 to 120 seconds".to_owned());
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&self.poll_after) {
            return Err("zjmf poll_after: expected 10 ms to 1 hour".to_owned());
        }
        Ok(())
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The ZJMF reseller client. Holds the API key and the JWT: no `Debug`.
pub struct Zjmf {
    api: Api,
    poll_after: Duration,
    /// Held from clearing the cart to settling it (see the module docs).
    cart: tokio::sync::Mutex<()>,
}

impl Zjmf {
    pub fn new(settings: ZjmfSettings) -> Result<Zjmf, String> {
        settings.validate()?;
        Ok(Zjmf { api: Api::new(&settings)?, poll_after: settings.poll_after, cart: tokio::sync::Mutex::new(()) })
    }
}

/// The upstream's ids: numbers, written as text in handles and checkpoints.
fn parse_id(text: &str) -> Result<i64, ProvError> {
    text.parse().ok().filter(|id| *id > 0).ok_or_else(|| ProvError::Invalid(format!("not a ZJMF id: {text:?}")))
}

fn handle(host: i64) -> Handle {
    Handle { remote_id: host.to_string(), node: None }
}

/// An operation to poll: an order being paid (`order:ID`) or a host being stopped (`host:ID`).
fn op(kind: &str, id: i64) -> OpRef {
    OpRef { id: format!("{kind}:{id}"), node: None }
}

fn parse_op(op: &OpRef) -> Result<(&str, i64), ProvError> {
    let (kind, id) =
        op.id.split_once(':').ok_or_else(|| ProvError::Invalid(format!("not a ZJMF operation: {:?}", op.id)))?;
    Ok((kind, parse_id(id)?))
}

#[async_trait]
impl Provider for Zjmf {
    fn kind(&self) -> &'static str {
        "zjmf"
    }

    fn capabilities(&self) -> Caps {
        Caps { renew_upstream: true, needs_reservations: false }
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED_FIELDS
    }

    async fn test_connection(&self) -> Result<(), ProvError> {
        self.api.test_login().await
    }

    async fn create(&self, r: &CreateRequest, at: &Checkpoint) -> Result<CreateStep, ProvError> {
        self.create_step(r, at).await
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<Handle>, ProvError> {
        Ok(self.find_stamped(key).await?.map(handle))
    }

    async fn list(&self) -> Result<Vec<RemoteServer>, ProvError> {
        self.list_hosts().await
    }

    async fn status(&self, h: &Handle) -> Result<Status, ProvError> {
        self.status_of(parse_id(&h.remote_id)?).await
    }

    async fn power(&self, h: &Handle, a: PowerAction) -> Result<Progress, ProvError> {
        self.power_action(parse_id(&h.remote_id)?, a).await
    }

    async fn suspend(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.suspend_host(parse_id(&h.remote_id)?).await
    }

    async fn unsuspend(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.unsuspend_host(parse_id(&h.remote_id)?).await
    }

    async fn terminate(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.terminate_host(parse_id(&h.remote_id)?).await
    }

    async fn renew(&self, h: &Handle, months: u32) -> Result<Progress, ProvError> {
        self.renew_host(parse_id(&h.remote_id)?, months).await
    }

    async fn poll(&self, op: &OpRef) -> Result<OpState, ProvError> {
        match parse_op(op)? {
            ("order", id) => self.poll_order(id).await,
            ("host", id) => self.poll_stop(id).await,
            _ => Err(ProvError::Invalid(format!("not a ZJMF operation: {:?}", op.id))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: &str) -> ZjmfSettings {
        ZjmfSettings {
            endpoint: endpoint.into(),
            username: "reseller@lantian.cn".into(),
            api_key: Secret::new("s3cr3t"),
            timeout: Duration::from_secs(10),
            poll_after: Duration::from_secs(30),
        }
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        for ok in ["https://idc.example", "https://idc.example:8443/zjmf/", "http://127.0.0.1:9", "http://[::1]:9"] {
            settings(ok).validate().unwrap();
        }
        for bad in ["http://idc.example", "ftp://idc.example", "https://u:p@idc.example", "https://idc.example/?a=1"] {
            let err = settings(bad).validate().unwrap_err();
            assert!(err.starts_with("zjmf endpoint"), "{bad}: {err}");
        }
        let long = ZjmfSettings { username: "a-very-long-address@lantian.cn".into(), ..settings("https://x.example") };
        assert!(long.validate().unwrap_err().contains("4 to 20"));
        let no_key = ZjmfSettings { api_key: Secret::default(), ..settings("https://x.example") };
        assert!(no_key.validate().unwrap_err().contains("api_key"));
        assert!(!format!("{:?}", settings("https://x.example")).contains("s3cr3t"), "the key is redacted");
    }

    #[test]
    fn operations_name_their_kind() {
        assert_eq!(parse_op(&op("order", 12)).unwrap(), ("order", 12));
        assert!(parse_op(&OpRef { id: "12".into(), node: None }).is_err());
        assert!(parse_id("0").is_err() && parse_id("x").is_err());
    }
}
