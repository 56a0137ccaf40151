//! The `[provisioning]` section: the upstream providers servers are created at, each under a
//! name that plans' targets refer to (`plan_targets.upstream`).
//!
//! Two kinds of upstream: a Proxmox VE cluster (`kind = "proxmox"`: an API token, and the
//! vmids we hand out there) and a 魔方 V10 reseller account (`kind = "zjmf"`: the account's
//! login and an API key). An upstream is one flat table: each kind's own keys are checked
//! here when it is that kind (a missing one is named), the other kind's keys are not used.
//! The rest is checked by the module itself ([`ProxmoxSettings::validate`],
//! [`ZjmfSettings::validate`]), so start-up refuses exactly what the client would.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret, invalid};
use crate::provisioning::provider::proxmox::ProxmoxSettings;
use crate::provisioning::provider::zjmf::ZjmfSettings;

/// A Proxmox VE cluster (or single node), reached with an API token.
pub const PROXMOX: &str = "proxmox";
/// An account at a 魔方业务系统 V10 (ZJMF-CBAP) upstream, buying servers as its reseller.
pub const ZJMF: &str = "zjmf";

/// Proxmox VE's own limits on a vmid.
const VMID_MIN: u32 = 100;
const VMID_MAX: u32 = 999_999_999;

/// How long a create waits before looking again at a ZJMF order or host still opening. The
/// upstream's own module creates the server after payment, which takes seconds to minutes;
/// every 10 s shows it soon without asking the upstream more than a few times a minute.
const ZJMF_POLL_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    pub upstreams: Vec<UpstreamConfig>,
}

/// One upstream: its name, its kind, where it is, and that kind's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// What `plan_targets.upstream` names: letters, digits, `-`, `_`.
    pub name: String,
    /// `proxmox` or `zjmf`.
    pub kind: String,
    pub endpoint: String,
    /// Proxmox: the API token's id, `user@realm!name`.
    #[serde(default)]
    pub token_id: String,
    /// Proxmox: the token's secret (or `token_secret_file`).
    #[serde(default)]
    pub token_secret: Secret,
    #[serde(default)]
    pub token_secret_file: String,
    #[serde(default = "default_node")]
    pub node: String,
    #[serde(default = "default_storage")]
    pub storage: String,
    #[serde(default = "default_bridge")]
    pub bridge: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Proxmox: the vmids Lantian may use there, inclusive. Proxmox's `nextid` reserves
    /// nothing, so we hand them out ourselves, away from what staff create by hand.
    #[serde(default)]
    pub vmid_first: u32,
    #[serde(default)]
    pub vmid_last: u32,
    /// ZJMF: the reseller account's login at the upstream, its e-mail or phone.
    #[serde(default)]
    pub username: String,
    /// ZJMF: an API key (API密钥) from the account's client area (or `api_key_file`).
    #[serde(default)]
    pub api_key: Secret,
    #[serde(default)]
    pub api_key_file: String,
}

fn default_node() -> String {
    ProxmoxSettings::default().node
}

fn default_storage() -> String {
    ProxmoxSettings::default().storage
}

fn default_bridge() -> String {
    ProxmoxSettings::default().bridge
}

fn default_timeout() -> u64 {
    30
}

impl UpstreamConfig {
    /// A ZJMF reseller account with the default time-out.
    pub fn zjmf(name: &str, endpoint: &str, username: &str, api_key: Secret) -> UpstreamConfig {
        UpstreamConfig {
            name: name.into(),
            kind: ZJMF.into(),
            endpoint: endpoint.into(),
            token_id: String::new(),
            token_secret: Secret::default(),
            token_secret_file: String::new(),
            node: default_node(),
            storage: default_storage(),
            bridge: default_bridge(),
            timeout_secs: default_timeout(),
            vmid_first: 0,
            vmid_last: 0,
            username: username.into(),
            api_key,
            api_key_file: String::new(),
        }
    }

    /// The Proxmox module's settings, when this upstream is a Proxmox VE cluster.
    pub fn proxmox_settings(&self) -> Option<ProxmoxSettings> {
        (self.kind == PROXMOX).then(|| self.as_proxmox())
    }

    /// The ZJMF module's settings, when this upstream is a ZJMF reseller account.
    pub fn zjmf_settings(&self) -> Option<ZjmfSettings> {
        (self.kind == ZJMF).then(|| self.as_zjmf())
    }

    /// The task poll interval is the module's default.
    fn as_proxmox(&self) -> ProxmoxSettings {
        ProxmoxSettings {
            endpoint: self.endpoint.clone(),
            token_id: self.token_id.clone(),
            token_secret: self.token_secret.expose().to_owned(),
            node: self.node.clone(),
            storage: self.storage.clone(),
            bridge: self.bridge.clone(),
            timeout: Duration::from_secs(self.timeout_secs),
            ..ProxmoxSettings::default()
        }
    }

    fn as_zjmf(&self) -> ZjmfSettings {
        ZjmfSettings {
            endpoint: self.endpoint.clone(),
            username: self.username.clone(),
            api_key: self.api_key.clone(),
            timeout: Duration::from_secs(self.timeout_secs),
            poll_after: ZJMF_POLL_AFTER,
        }
    }
}

impl Config {
    pub(super) fn read_provisioning_secret_files(&mut self) -> Result<(), ConfigError> {
        for (i, u) in self.provisioning.upstreams.iter_mut().enumerate() {
            for (field, file, value) in [
                ("token_secret_file", &u.token_secret_file, &mut u.token_secret),
                ("api_key_file", &u.api_key_file, &mut u.api_key),
            ] {
                if !file.is_empty() {
                    let text = std::fs::read_to_string(file)
                        .map_err(|e| ConfigError(format!("`{}`: cannot read {file}: {e}", key(i, field))))?;
                    *value = Secret::new(text.trim());
                }
            }
        }
        Ok(())
    }

    pub(super) fn validate_provisioning(&self) -> Result<(), ConfigError> {
        let ups = &self.provisioning.upstreams;
        for (i, u) in ups.iter().enumerate() {
            let name_ok = !u.name.is_empty()
                && u.name.len() <= 40
                && u.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !name_ok {
                return Err(invalid(&key(i, "name"), "expected 1 to 40 letters, digits, '-' or '_'"));
            }
            if ups[..i].iter().any(|other| other.name == u.name) {
                return Err(invalid(&key(i, "name"), "another upstream has this name"));
            }
            // The module's own check comes last, with the upstream named (its messages name
            // the field).
            let module_check = match u.kind.as_str() {
                PROXMOX => {
                    check_proxmox_keys(u, i)?;
                    u.as_proxmox().validate()
                }
                ZJMF => {
                    check_zjmf_keys(u, i)?;
                    u.as_zjmf().validate()
                }
                _ => return Err(invalid(&key(i, "kind"), "expected \"proxmox\" or \"zjmf\"")),
            };
            module_check.map_err(|e| invalid(&format!("provisioning.upstreams[{i}]"), &e))?;
        }
        Ok(())
    }
}

/// `provisioning.upstreams[I].FIELD`, as errors name it.
fn key(i: usize, field: &str) -> String {
    format!("provisioning.upstreams[{i}].{field}")
}

fn required(key: &str, kind: &str, what: &str) -> ConfigError {
    invalid(key, &format!("required for kind = \"{kind}\": {what}"))
}

fn check_proxmox_keys(u: &UpstreamConfig, i: usize) -> Result<(), ConfigError> {
    if u.token_id.is_empty() {
        return Err(required(&key(i, "token_id"), PROXMOX, "the API token's id, user@realm!name"));
    }
    if u.token_secret.expose().is_empty() {
        return Err(required(&key(i, "token_secret"), PROXMOX, "the token's secret, or token_secret_file"));
    }
    if !(1..=300).contains(&u.timeout_secs) {
        return Err(invalid(&key(i, "timeout_secs"), "expected 1 to 300"));
    }
    for (field, vmid) in [("vmid_first", u.vmid_first), ("vmid_last", u.vmid_last)] {
        if vmid == 0 {
            return Err(required(&key(i, field), PROXMOX, "the vmids Lantian hands out there"));
        }
    }
    if u.vmid_first < VMID_MIN || u.vmid_first > u.vmid_last || u.vmid_last > VMID_MAX {
        return Err(invalid(
            &key(i, "vmid_first"),
            "expected vmid_first <= vmid_last, both from 100 to 999999999 (Proxmox's vmid range)",
        ));
    }
    Ok(())
}

fn check_zjmf_keys(u: &UpstreamConfig, i: usize) -> Result<(), ConfigError> {
    if u.username.is_empty() {
        return Err(required(&key(i, "username"), ZJMF, "the account's e-mail or phone at the upstream"));
    }
    if u.api_key.expose().is_empty() {
        return Err(required(&key(i, "api_key"), ZJMF, "an API key from the account's client area, or api_key_file"));
    }
    // The module's own range.
    if !(1..=120).contains(&u.timeout_secs) {
        return Err(invalid(&key(i, "timeout_secs"), "expected 1 to 120"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its own large error type
mod tests {
    use figment::Jail;
    use figment::providers::Env;

    use super::*;

    const UPSTREAM: &str = r#"
[[provisioning.upstreams]]
name = "pve-hk"
kind = "proxmox"
endpoint = "https://pve.example:8006"
token_id = "lantian@pve!provision"
token_secret_file = "pve-secret"
vmid_first = 10000
vmid_last = 10999
"#;

    const RESELLER: &str = r#"
[[provisioning.upstreams]]
name = "zjmf-sh"
kind = "zjmf"
endpoint = "https://idc.example/zjmf"
username = "reseller@lantian.cn"
api_key_file = "zjmf-key"
timeout_secs = 20
"#;

    const API_KEY: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

    fn load(jail: &Jail, toml: &str) -> Result<Config, ConfigError> {
        jail.create_file("c.toml", toml).unwrap();
        Config::load_with_env(Some(std::path::Path::new("c.toml")), Env::raw().only(&[]))
    }

    #[test]
    fn none_by_default() {
        let c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
        assert_eq!(c.provisioning, ProvisioningConfig::default());
    }

    #[test]
    fn an_upstream_reads_its_secret_from_a_file_and_takes_the_usual_names() {
        Jail::expect_with(|jail| {
            jail.create_file("pve-secret", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n")?;
            let c = load(jail, UPSTREAM).unwrap();
            let u = &c.provisioning.upstreams[0];
            assert_eq!(u.token_secret.expose(), "0f1e2d3c-aaaa-bbbb-cccc-123456789abc");
            assert_eq!((u.node.as_str(), u.storage.as_str(), u.bridge.as_str()), ("pve", "local-lvm", "vmbr0"));
            assert!(u.proxmox_settings().is_some() && u.zjmf_settings().is_none());
            assert!(!c.to_redacted_toml().contains("0f1e2d3c"), "the secret is never printed");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        Jail::expect_with(|jail| {
            jail.create_file("pve-secret", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n")?;
            for (from, to, named) in [
                ("kind = \"proxmox\"", "kind = \"swapidc\"", "provisioning.upstreams[0].kind"),
                ("name = \"pve-hk\"", "name = \"pve hk\"", "provisioning.upstreams[0].name"),
                ("vmid_first = 10000", "vmid_first = 11000", "provisioning.upstreams[0].vmid_first"),
                ("vmid_first = 10000", "vmid_first = 99", "provisioning.upstreams[0].vmid_first"),
                ("https://pve.example:8006", "http://pve.example:8006", "https://"),
                ("lantian@pve!provision", "lantian", "token_id"),
            ] {
                let err = load(jail, &UPSTREAM.replace(from, to)).unwrap_err().to_string();
                assert!(err.contains(named), "{to}: {err}");
            }
            let twice = format!("{UPSTREAM}{UPSTREAM}");
            assert!(load(jail, &twice).unwrap_err().to_string().contains("provisioning.upstreams[1].name"));
            Ok(())
        });
    }

    #[test]
    fn a_proxmox_upstream_names_each_missing_key() {
        Jail::expect_with(|jail| {
            jail.create_file("pve-secret", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n")?;
            for line in
                ["token_id = \"lantian@pve!provision\"", "token_secret_file = \"pve-secret\"", "vmid_last = 10999"]
            {
                let field = line.split(' ').next().unwrap().trim_end_matches("_file");
                let err = load(jail, &UPSTREAM.replace(line, "")).unwrap_err().to_string();
                assert!(err.contains(&format!("`provisioning.upstreams[0].{field}`")), "{field}: {err}");
                assert!(err.contains("required for kind = \"proxmox\""), "{err}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_zjmf_upstream_needs_no_proxmox_keys_and_keeps_its_key_secret() {
        Jail::expect_with(|jail| {
            jail.create_file("zjmf-key", &format!("{API_KEY}\n"))?;
            jail.create_file("pve-secret", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n")?;
            let c = load(jail, &format!("{UPSTREAM}{RESELLER}")).unwrap();
            let u = &c.provisioning.upstreams[1];
            assert_eq!(u.api_key.expose(), API_KEY, "read from api_key_file, trimmed");
            assert!(u.proxmox_settings().is_none());
            let s = u.zjmf_settings().unwrap();
            assert_eq!((s.endpoint.as_str(), s.username.as_str()), ("https://idc.example/zjmf", "reseller@lantian.cn"));
            assert_eq!((s.api_key.expose(), s.timeout), (API_KEY, Duration::from_secs(20)));

            let printed = c.to_redacted_toml();
            assert!(!printed.contains(API_KEY) && !format!("{c:?}").contains(API_KEY), "{printed}");
            assert!(printed.contains("api_key = \"[redacted]\""), "{printed}");

            let modules = crate::provisioning::upstreams_from_config(&c.provisioning).unwrap();
            let kinds: Vec<_> = modules.iter().map(|(name, m)| (name.as_str(), m.kind())).collect();
            assert_eq!(kinds, [("pve-hk", "proxmox"), ("zjmf-sh", "zjmf")]);

            // The key inline instead of in a file; the time-out's default.
            let inline = RESELLER.replace("api_key_file = \"zjmf-key\"", &format!("api_key = \"{API_KEY}\""));
            let c = load(jail, &inline.replace("timeout_secs = 20", "")).unwrap();
            let s = c.provisioning.upstreams[0].zjmf_settings().unwrap();
            assert_eq!((s.api_key.expose(), s.timeout), (API_KEY, Duration::from_secs(30)));
            Ok(())
        });
    }

    #[test]
    fn a_zjmf_upstream_s_bad_values_name_their_key() {
        Jail::expect_with(|jail| {
            jail.create_file("zjmf-key", API_KEY)?;
            for (from, to, named) in [
                ("username = \"reseller@lantian.cn\"", "", "`provisioning.upstreams[0].username`"),
                ("api_key_file = \"zjmf-key\"", "", "`provisioning.upstreams[0].api_key`"),
                (
                    "api_key_file = \"zjmf-key\"",
                    "api_key_file = \"missing\"",
                    "`provisioning.upstreams[0].api_key_file`",
                ),
                ("timeout_secs = 20", "timeout_secs = 121", "`provisioning.upstreams[0].timeout_secs`"),
                ("https://idc.example/zjmf", "http://idc.example/zjmf", "https:// is required"),
                ("https://idc.example/zjmf", "https://idc.example/?a=1", "zjmf endpoint"),
                ("reseller@lantian.cn", "a-very-long-address@lantian.cn", "4 to 20"),
            ] {
                let err = load(jail, &RESELLER.replace(from, to)).unwrap_err().to_string();
                assert!(err.contains(named), "{to}: {err}");
            }
            // The module's own messages come with the upstream named.
            let err = load(jail, &RESELLER.replace("https://", "http://")).unwrap_err().to_string();
            assert!(err.contains("`provisioning.upstreams[0]`"), "{err}");
            // A Proxmox key on a ZJMF upstream is no substitute for its own.
            let swapped = RESELLER.replace("api_key_file", "token_secret_file");
            assert!(load(jail, &swapped).unwrap_err().to_string().contains("`provisioning.upstreams[0].api_key`"));
            Ok(())
        });
    }
}
