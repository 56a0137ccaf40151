//! The `[kyc]` section: the real-name verification provider (实名认证服务商) and the limits
//! around verification.
//!
//! The provider receives the name and the ID number, so its endpoint must be `https://`
//! (privacy policy C3.4: over an encrypted connection); plain `http://` is accepted only for a
//! host on this machine, where the demo and the tests run the protocol fakes.

use std::net::IpAddr;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret, invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KycProvider {
    /// No automatic verification.
    None,
    /// Aliyun Cloudauth `Id2MetaVerify`, signed with the AccessKey.
    Aliyun,
    /// A two-factor API sold on the Aliyun market, authorised by an AppCode.
    Appcode,
}

/// How a market API takes its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MarketMethod {
    /// In the query string: the values end up in URL logs along the way, so only for sellers
    /// that accept nothing else.
    Get,
    /// As an `application/x-www-form-urlencoded` body.
    Post,
}

/// An Aliyun market (APPCODE) seller's API: where it is and how to read its answer. Sellers
/// differ in parameter names and reply shapes; the defaults are 数脉's `eid/check`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketConfig {
    /// Below `kyc.endpoint`, starting with `/`.
    pub path: String,
    pub method: MarketMethod,
    pub name_param: String,
    pub id_param: String,
    /// JSON pointer to the seller's call status; empty when it has none.
    pub code_pointer: String,
    /// The call status meaning "answered".
    pub code_ok: String,
    /// JSON pointer to the verification result.
    pub result_pointer: String,
    pub result_match: String,
    pub result_mismatch: String,
    pub result_not_found: String,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            path: "/eid/check".into(),
            method: MarketMethod::Post,
            name_param: "name".into(),
            id_param: "idcard".into(),
            code_pointer: "/code".into(),
            code_ok: "0".into(),
            result_pointer: "/result/res".into(),
            result_match: "1".into(),
            result_mismatch: "2".into(),
            result_not_found: "3".into(),
        }
    }
}

/// The real-name verification provider and the limits of the verification flow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KycConfig {
    pub provider: KycProvider,
    /// `https://HOST[:PORT]`: Cloudauth's endpoint, or the market seller's host.
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub access_key_secret_file: String,
    pub appcode: Secret,
    pub appcode_file: String,
    pub market: MarketConfig,
    pub timeout_secs: u64,
    /// Accounts that one ID number may verify.
    pub max_accounts_per_id: u32,
    /// Verification attempts one account may make per day.
    pub attempts_per_day: u32,
}

impl Default for KycConfig {
    fn default() -> Self {
        KycConfig {
            provider: KycProvider::None,
            endpoint: "https://cloudauth.aliyuncs.com".into(),
            access_key_id: String::new(),
            access_key_secret: Secret::default(),
            access_key_secret_file: String::new(),
            appcode: Secret::default(),
            appcode_file: String::new(),
            market: MarketConfig::default(),
            timeout_secs: 10,
            max_accounts_per_id: 1,
            attempts_per_day: 5,
        }
    }
}

/// True for `127.0.0.1` (any of 127/8), `::1` and `localhost`.
fn is_loopback(url: &Url) -> bool {
    // `host_str` writes IPv6 addresses in brackets and domain names in lower case.
    url.host_str().is_some_and(|host| {
        host == "localhost" || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

impl Config {
    pub(super) fn read_kyc_secret_files(&mut self) -> Result<(), ConfigError> {
        let k = &mut self.kyc;
        for (key, file, value) in [
            ("kyc.access_key_secret_file", &k.access_key_secret_file, &mut k.access_key_secret),
            ("kyc.appcode_file", &k.appcode_file, &mut k.appcode),
        ] {
            if !file.is_empty() {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| ConfigError(format!("`{key}`: cannot read {file}: {e}")))?;
                *value = Secret::new(text.trim());
            }
        }
        Ok(())
    }

    pub(super) fn validate_kyc(&self) -> Result<(), ConfigError> {
        let k = &self.kyc;
        if !(1..=60).contains(&k.timeout_secs) {
            return Err(invalid("kyc.timeout_secs", "expected 1 to 60"));
        }
        if k.max_accounts_per_id == 0 {
            return Err(invalid("kyc.max_accounts_per_id", "expected at least 1"));
        }
        if !(1..=50).contains(&k.attempts_per_day) {
            return Err(invalid("kyc.attempts_per_day", "expected 1 to 50"));
        }
        match k.provider {
            KycProvider::None => return Ok(()),
            KycProvider::Aliyun if k.access_key_id.is_empty() || k.access_key_secret.expose().is_empty() => {
                return Err(invalid(
                    "kyc.access_key_id",
                    "the aliyun provider needs access_key_id and access_key_secret (or access_key_secret_file)",
                ));
            }
            KycProvider::Appcode => validate_market(k)?,
            KycProvider::Aliyun => {}
        }
        let endpoint = Url::parse(&k.endpoint).ok().filter(|u| {
            u.has_host() && u.username().is_empty() && u.path() == "/" && u.query().is_none() && u.fragment().is_none()
        });
        match endpoint {
            Some(u) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)) => Ok(()),
            _ => Err(invalid(
                "kyc.endpoint",
                "expected https://HOST[:PORT] without a path (http:// only for 127.0.0.1, localhost or ::1): \
                 the provider receives names and ID numbers, which travel encrypted",
            )),
        }
    }
}

fn validate_market(k: &KycConfig) -> Result<(), ConfigError> {
    let m = &k.market;
    if k.appcode.expose().is_empty() {
        return Err(invalid("kyc.appcode", "the appcode provider needs the AppCode (appcode or appcode_file)"));
    }
    if k.endpoint == KycConfig::default().endpoint {
        return Err(invalid("kyc.endpoint", "the appcode provider needs the market seller's https:// address"));
    }
    if !m.path.starts_with('/') || m.path.contains(['?', '#']) {
        return Err(invalid("kyc.market.path", "expected a path starting with /, without ? or #"));
    }
    if m.name_param.is_empty() || m.id_param.is_empty() || m.name_param == m.id_param {
        return Err(invalid("kyc.market.name_param", "name_param and id_param are two different parameter names"));
    }
    if !(m.code_pointer.is_empty() || m.code_pointer.starts_with('/')) {
        return Err(invalid("kyc.market.code_pointer", "expected empty or a JSON pointer such as /code"));
    }
    if !m.result_pointer.starts_with('/') {
        return Err(invalid("kyc.market.result_pointer", "expected a JSON pointer such as /result/res"));
    }
    let values = [&m.result_match, &m.result_mismatch, &m.result_not_found];
    if values.iter().any(|v| v.is_empty()) || values[0] == values[1] || values[0] == values[2] || values[1] == values[2]
    {
        return Err(invalid(
            "kyc.market.result_match",
            "result_match, result_mismatch and result_not_found are three different values",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its own large error type
mod tests {
    use super::*;
    use figment::Jail;
    use figment::providers::Env;

    fn load() -> Result<Config, ConfigError> {
        Config::load_with_env(None, Env::prefixed("LANTIAN__").split("__"))
    }

    #[test]
    fn the_documented_defaults_are_the_built_in_ones() {
        let c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
        assert_eq!(c.kyc, KycConfig::default());
    }

    #[test]
    fn endpoints_must_be_encrypted_unless_on_this_machine() {
        Jail::expect_with(|jail| {
            jail.set_env("LANTIAN__KYC__PROVIDER", "aliyun");
            jail.set_env("LANTIAN__KYC__ACCESS_KEY_ID", "LTAIexample");
            jail.create_file("ak-secret", "s3cret\n")?;
            jail.set_env("LANTIAN__KYC__ACCESS_KEY_SECRET_FILE", "ak-secret");
            assert_eq!(load().unwrap().kyc.access_key_secret.expose(), "s3cret");
            for ok in ["http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000", "https://a.example"] {
                jail.set_env("LANTIAN__KYC__ENDPOINT", ok);
                assert!(load().is_ok(), "{ok}");
            }
            for bad in ["http://example.com", "ftp://127.0.0.1", "https://a.example/x", "https://a.example?q=1", "x"] {
                jail.set_env("LANTIAN__KYC__ENDPOINT", bad);
                let err = load().unwrap_err().to_string();
                assert!(err.contains("kyc.endpoint") && err.contains("https://"), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        Jail::expect_with(|jail| {
            for (key, value, named) in [
                ("TIMEOUT_SECS", "0", "kyc.timeout_secs"),
                ("MAX_ACCOUNTS_PER_ID", "0", "kyc.max_accounts_per_id"),
                ("ATTEMPTS_PER_DAY", "51", "kyc.attempts_per_day"),
                ("PROVIDER", "aliyun", "kyc.access_key_id"),
                ("PROVIDER", "appcode", "kyc.appcode"),
                ("PROVIDER", "face", "kyc.provider"),
            ] {
                jail.set_env(format!("LANTIAN__KYC__{key}"), value);
                let err = load().unwrap_err().to_string();
                assert!(err.contains(named), "{key}={value}: {err}");
                jail.clear_env();
            }
            jail.set_env("LANTIAN__KYC__PROVIDER", "appcode");
            jail.set_env("LANTIAN__KYC__APPCODE", "0123456789abcdef");
            assert!(load().unwrap_err().to_string().contains("kyc.endpoint"), "the seller's address is not Aliyun's");
            jail.set_env("LANTIAN__KYC__ENDPOINT", "https://eid.shumaidata.com");
            jail.set_env("LANTIAN__KYC__MARKET__ID_PARAM", "name");
            assert!(load().unwrap_err().to_string().contains("kyc.market.name_param"));
            jail.set_env("LANTIAN__KYC__MARKET__ID_PARAM", "cardno");
            // Quoted: figment reads a bare 1 from the environment as a number.
            jail.set_env("LANTIAN__KYC__MARKET__RESULT_NOT_FOUND", "\"1\"");
            let err = load().unwrap_err().to_string();
            assert!(err.contains("kyc.market.result_match"), "{err}");
            jail.set_env("LANTIAN__KYC__MARKET__RESULT_NOT_FOUND", "\"3\"");
            jail.set_env("LANTIAN__KYC__MARKET__METHOD", "GET");
            assert_eq!(load().unwrap().kyc.market.method, MarketMethod::Get);
            Ok(())
        });
    }
}
