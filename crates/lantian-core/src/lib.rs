//! The domain of Lantian (蓝天云): everything the platform knows and decides, with no HTTP.
//!
//! Each area lives in its own folder (`catalog/`, `jobs/`, later `accounts/`, `billing/` ...):
//! types and service functions in `mod.rs`, SQL only in `repo.rs`. Service functions take the
//! time as an input (`now`), so tests move a [`clock::ManualClock`] instead of sleeping.

pub mod accesslog;
pub mod accounts;
pub mod aliyun;
pub mod apitokens;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod bench_data;
pub mod billing;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod consents;
pub mod crypto;
pub mod db;
pub mod disclosures;
pub mod error;
pub mod i18n;
pub mod jobs;
pub mod kyc;
pub mod money;
pub mod notify;
pub mod payments;
pub mod phone;
pub mod provisioning;
pub mod ratelimit;
pub mod reveal;
pub mod sessions;
pub mod staff;
pub mod totp;

use std::sync::Arc;

pub use clock::{Clock, UnixMs};
pub use config::Config;
pub use db::Db;
pub use error::{Error, Result};

use crypto::KeyRing;
use crypto::password::Passwords;
use notify::{Mailer, SmsSender};

/// What every service function needs: the database, the settings, the clock, the keys, and
/// the clients of the outside systems.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyRing>,
    pub passwords: Passwords,
    pub mailer: Arc<dyn Mailer>,
    /// None when `sms.provider = "none"`.
    pub sms: Option<Arc<dyn SmsSender>>,
    /// None when `payments.provider = "none"`: only the balance can pay.
    pub payments: Option<Arc<dyn payments::gateway::PaymentGateway>>,
    /// None when `kyc.provider = "none"`: no automatic real-name verification.
    pub kyc: Option<Arc<dyn kyc::provider::RealNameProvider>>,
    /// The modules of `[provisioning]`'s upstreams, by name (`plan_targets.upstream`).
    pub upstreams: Arc<provisioning::Upstreams>,
}

impl Core {
    /// Builds the core with the real clients the configuration names.
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>, keys: Arc<KeyRing>) -> Result<Self> {
        let mailer: Arc<dyn Mailer> = Arc::new(notify::mail::SmtpMailer::new(&config.mail)?);
        let sms = notify::sms::from_config(&config.sms, clock.clone())?;
        let passwords = Passwords::new(&config.security);
        let payments = payments::coopay::from_config(&config.payments, &config.server.public_url)?;
        let kyc = kyc::provider::from_config(&config.kyc, clock.clone())?;
        let upstreams = Arc::new(provisioning::upstreams_from_config(&config.provisioning)?);
        Ok(Self { db, config, clock, keys, passwords, mailer, sms, payments, kyc, upstreams })
    }

    pub fn now(&self) -> UnixMs {
        self.clock.now()
    }
}

/// Facts about the request an action came from, for sessions, consents and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}
