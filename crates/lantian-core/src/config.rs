//! Settings: `config/default.toml` (built in) < `--config FILE` < `LANTIAN__SECTION__KEY`.
//!
//! Every key is known: an unknown key or a bad value stops start-up with one message that
//! names the key and what is allowed.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize, Serializer};

/// The documented defaults, compiled in so that the binary needs no file beside it.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

mod kyc;
mod lifecycle;
mod payments;
mod provisioning;
pub use kyc::{KycConfig, KycProvider, MarketConfig, MarketMethod};
pub use lifecycle::{LifecycleConfig, REMINDER_DAYS};
pub use payments::{BillingConfig, EpayKeyStyle, EpayVersion, PaymentsConfig, PaymentsProvider};
pub use provisioning::{PROXMOX, ProvisioningConfig, UpstreamConfig};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub jobs: JobsConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub i18n: I18nConfig,
    pub business: BusinessConfig,
    pub demo: DemoConfig,
    pub security: SecurityConfig,
    pub keys: KeysConfig,
    pub sessions: SessionsConfig,
    pub mail: MailConfig,
    pub sms: SmsConfig,
    pub logs: LogsConfig,
    pub billing: BillingConfig,
    pub lifecycle: LifecycleConfig,
    pub payments: PaymentsConfig,
    #[serde(default)]
    pub kyc: KycConfig,
    #[serde(default)]
    pub provisioning: ProvisioningConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_url: String,
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub tls_cert: String,
    pub tls_key: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Secret,
    pub url_file: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    pub in_process_worker: bool,
    pub concurrency: u32,
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    pub done_retention_days: u32,
    pub dead_retention_days: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct I18nConfig {
    pub default_locale: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessConfig {
    pub time_zone: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub mailbox_port: u16,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    pub file: String,
    pub inline: Secret,
    pub inline_file: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    pub customer_idle_minutes: u64,
    pub customer_absolute_days: u64,
    pub staff_idle_minutes: u64,
    pub staff_absolute_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    pub username: String,
    pub password: Secret,
    pub password_file: String,
    pub from: String,
    pub timeout_secs: u64,
    pub relay_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    None,
    Aliyun,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub access_key_secret_file: String,
    pub sign_name: String,
    pub template_security_alert: String,
    pub template_service_expiry: String,
    pub per_number_per_hour: u32,
    pub per_number_per_day: u32,
    pub timeout_secs: u64,
}

/// The access log (privacy policy C1.7, C5.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    pub retention_days: u32,
    pub queue_capacity: usize,
    pub write_window_ms: u64,
}

/// The policy keeps network logs at least six months (C5.4); the longest six calendar months
/// (for example March to August: 31+30+31+30+31+31) have 184 days.
pub const MIN_LOG_RETENTION_DAYS: u32 = 184;

impl MailConfig {
    /// True when the SMTP server runs on this machine; otherwise it is a recipient of data.
    pub fn is_local(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "::1" | "localhost")
    }
}

/// A value that must never be printed or logged. Serialises as `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

/// A configuration problem, always naming the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn invalid(key: &str, allowed: &str) -> ConfigError {
    ConfigError(format!("`{key}` is invalid: {allowed}"))
}

pub const LOCALES: [&str; 2] = ["zh-CN", "en"];

impl Config {
    /// Loads the defaults, then `file` if given, then the environment, then `*_file` secrets,
    /// and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(file, Env::prefixed("LANTIAN__").split("__"))
    }

    /// As [`Config::load`], with the environment layer given (tests use a fixed map).
    pub fn load_with_env(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("file {} does not exist", path.display())));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig.merge(env.lowercase(true));
        let mut config: Config = fig.extract().map_err(|e| ConfigError(describe_figment(e)))?;
        config.read_secret_files()?;
        config.validate()?;
        Ok(config)
    }

    fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        if !self.database.url_file.is_empty() {
            let text = std::fs::read_to_string(&self.database.url_file).map_err(|e| {
                ConfigError(format!("`database.url_file`: cannot read {}: {e}", self.database.url_file))
            })?;
            self.database.url = Secret::new(text.trim());
        }
        let (p, sms) = (&mut self.payments, &mut self.sms);
        for (key, file, value) in [
            ("sms.access_key_secret_file", &sms.access_key_secret_file, &mut sms.access_key_secret),
            ("payments.key_file", &p.key_file, &mut p.key),
            ("payments.merchant_private_key_file", &p.merchant_private_key_file, &mut p.merchant_private_key),
        ] {
            if !file.is_empty() {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| ConfigError(format!("`{key}`: cannot read {file}: {e}")))?;
                *value = Secret::new(text.trim());
            }
        }
        self.read_kyc_secret_files()?;
        self.read_provisioning_secret_files()
    }

    /// Checks what serde cannot: ranges, formats and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        let url = s.public_url.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
            return Err(invalid(
                "server.public_url",
                "expected http:// or https:// followed by a host, without a trailing slash",
            ));
        }
        if !(1024..=100 * 1024 * 1024).contains(&s.body_limit_bytes) {
            return Err(invalid("server.body_limit_bytes", "expected 1024 to 104857600"));
        }
        if !(1..=600).contains(&s.request_timeout_secs) {
            return Err(invalid("server.request_timeout_secs", "expected 1 to 600"));
        }
        if s.tls_cert.is_empty() != s.tls_key.is_empty() {
            return Err(invalid("server.tls_cert", "tls_cert and tls_key go together: set both or neither"));
        }
        let db = self.database.url.expose();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(invalid("database.url", "expected sqlite://PATH or postgres://USER@HOST/DB"));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            return Err(invalid("database.max_connections", "expected 1 to 1000"));
        }
        let j = &self.jobs;
        if !(1..=256).contains(&j.concurrency) {
            return Err(invalid("jobs.concurrency", "expected 1 to 256"));
        }
        if !(10..=60_000).contains(&j.poll_interval_ms) {
            return Err(invalid("jobs.poll_interval_ms", "expected 10 to 60000"));
        }
        if !(10..=86_400).contains(&j.lease_secs) {
            return Err(invalid("jobs.lease_secs", "expected 10 to 86400"));
        }
        if !(1..=100).contains(&j.max_attempts) {
            return Err(invalid("jobs.max_attempts", "expected 1 to 100"));
        }
        if j.backoff_base_secs == 0 || j.backoff_max_secs < j.backoff_base_secs {
            return Err(invalid(
                "jobs.backoff_max_secs",
                "expected backoff_base_secs ≥ 1 and backoff_max_secs ≥ backoff_base_secs",
            ));
        }
        if j.done_retention_days == 0 || j.dead_retention_days == 0 {
            return Err(invalid("jobs.done_retention_days", "retention is at least one day"));
        }
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<SocketAddr>().is_err() {
            return Err(invalid("metrics.listen", "expected empty (off) or HOST:PORT, e.g. 127.0.0.1:9100"));
        }
        if !LOCALES.contains(&self.i18n.default_locale.as_str()) {
            return Err(invalid("i18n.default_locale", "expected \"zh-CN\" or \"en\""));
        }
        if jiff::tz::TimeZone::get(&self.business.time_zone).is_err() {
            return Err(invalid("business.time_zone", "expected an IANA time zone such as Asia/Shanghai"));
        }
        if let Err(e) = crate::crypto::password::params_of(&self.security) {
            return Err(invalid("security.argon2_memory_kib", &format!("Argon2 parameters not accepted: {e}")));
        }
        let ss = &self.sessions;
        if ss.customer_idle_minutes == 0
            || ss.staff_idle_minutes == 0
            || ss.customer_absolute_days == 0
            || ss.staff_absolute_hours == 0
        {
            return Err(invalid("sessions.staff_idle_minutes", "every session time-out is at least 1"));
        }
        if self.mail.tls == MailTls::None && !self.mail.is_local() {
            return Err(invalid(
                "mail.tls",
                "\"none\" only for an SMTP server on this machine; use \"starttls\" or \"tls\"",
            ));
        }
        if !self.mail.is_local() && self.mail.relay_name.trim().is_empty() {
            return Err(invalid("mail.relay_name", "name the outside SMTP relay: it receives personal data"));
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("mail.from", "expected an address such as \"蓝天云 <no-reply@example.com>\""));
        }
        if self.sms.provider == SmsProvider::Aliyun
            && (self.sms.access_key_id.is_empty() || self.sms.access_key_secret.expose().is_empty())
        {
            return Err(invalid("sms.access_key_id", "the aliyun provider needs access_key_id and access_key_secret"));
        }
        if self.logs.retention_days < MIN_LOG_RETENTION_DAYS || self.logs.retention_days > 3660 {
            return Err(invalid(
                "logs.retention_days",
                "expected 184 to 3660: the privacy policy keeps network logs at least six months, \
                 and the longest six-month span has 184 days",
            ));
        }
        if !(1..=1_000_000).contains(&self.logs.queue_capacity) {
            return Err(invalid("logs.queue_capacity", "expected 1 to 1000000"));
        }
        if !(1..=1_000).contains(&self.logs.write_window_ms) {
            return Err(invalid("logs.write_window_ms", "expected 1 to 1000"));
        }
        self.validate_billing()?;
        self.validate_lifecycle()?;
        self.validate_kyc()?;
        self.validate_provisioning()?;
        if self.log.level.parse::<LevelCheck>().is_err() {
            return Err(invalid(
                "log.level",
                "expected a level (error, warn, info, debug, trace) or target=level list",
            ));
        }
        Ok(())
    }

    /// The effective settings as TOML, secrets redacted (for `lantian config check`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }

    pub fn tls_paths(&self) -> Option<(PathBuf, PathBuf)> {
        (!self.server.tls_cert.is_empty())
            .then(|| (PathBuf::from(&self.server.tls_cert), PathBuf::from(&self.server.tls_key)))
    }

    pub fn is_https(&self) -> bool {
        self.server.public_url.starts_with("https://") || self.tls_paths().is_some()
    }
}

/// A light syntax check of a tracing filter, so core needs no tracing-subscriber.
struct LevelCheck;

impl std::str::FromStr for LevelCheck {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
        let ok = !s.trim().is_empty()
            && s.split(',').all(|part| {
                let level = part.rsplit('=').next().unwrap_or("").trim().to_ascii_lowercase();
                LEVELS.contains(&level.as_str()) || (part.contains('=') && level.is_empty())
            });
        if ok { Ok(LevelCheck) } else { Err(()) }
    }
}

/// Figment's messages name the key; we add where it came from in words a person reads.
fn describe_figment(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() { String::from("(top level)") } else { e.path.join(".") };
            let from = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(src) => format!(" (from {} {})", m.name, src),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            format!("`{key}`: {}{from}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its own large error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_valid_and_documented() {
        let c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
        assert_eq!(c.server.listen.port(), 8080);
        assert_eq!(c.database.url.expose(), "sqlite://data/lantian.db");
        assert_eq!(c.i18n.default_locale, "zh-CN");
    }

    #[test]
    fn environment_overrides_and_bad_values_name_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("LANTIAN__JOBS__CONCURRENCY", "3");
            let c = Config::load(None).unwrap();
            assert_eq!(c.jobs.concurrency, 3);

            jail.set_env("LANTIAN__JOBS__CONCURRENCY", "many");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("jobs.concurrency"), "{err}");

            jail.set_env("LANTIAN__JOBS__CONCURRENCY", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("jobs.concurrency") && err.contains("1 to 256"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nlisten_port = 80\n")?;
            let err = Config::load(Some(Path::new("c.toml"))).unwrap_err().to_string();
            assert!(err.contains("listen_port"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_come_from_files_and_are_redacted() {
        Jail::expect_with(|jail| {
            jail.create_file("db-url", "postgres://lantian:hunter2@db/lantian\n")?;
            jail.set_env("LANTIAN__DATABASE__URL_FILE", "db-url");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database.url.expose(), "postgres://lantian:hunter2@db/lantian");
            let printed = c.to_redacted_toml();
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(printed.contains("[redacted]"));
            assert!(!format!("{c:?}").contains("hunter2"));
            Ok(())
        });
    }

    #[test]
    fn log_level_and_time_zone_are_checked() {
        Jail::expect_with(|jail| {
            jail.set_env("LANTIAN__LOG__LEVEL", "loud");
            assert!(Config::load(None).unwrap_err().to_string().contains("log.level"));
            jail.set_env("LANTIAN__LOG__LEVEL", "lantian_web=debug,info");
            jail.set_env("LANTIAN__BUSINESS__TIME_ZONE", "Mars/Olympus");
            assert!(Config::load(None).unwrap_err().to_string().contains("business.time_zone"));
            Ok(())
        });
    }
}
