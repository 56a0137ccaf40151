//! The `[provisioning]` section: the upstream providers servers are created at, each under a
//! name that plans' targets refer to (`plan_targets.upstream`).
//!
//! Only Proxmox VE (`kind = "proxmox"`) is configurable so far; its settings are checked by
//! the module itself ([`ProxmoxSettings::validate`]), so start-up refuses exactly what the
//! client would.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret, invalid};
use crate::provisioning::provider::proxmox::ProxmoxSettings;

/// The only kind of upstream a configuration may name yet.
pub const PROXMOX: &str = "proxmox";

/// Proxmox VE's own limits on a vmid.
const VMID_MIN: u32 = 100;
const VMID_MAX: u32 = 999_999_999;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    pub upstreams: Vec<UpstreamConfig>,
}

/// One upstream: where it is, the token, and the pool of vmids we hand out there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// What `plan_targets.upstream` names: letters, digits, `-`, `_`.
    pub name: String,
    /// `proxmox`.
    pub kind: String,
    pub endpoint: String,
    pub token_id: String,
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
    /// The vmids Lantian may use there, inclusive: Proxmox's `nextid` reserves nothing, so we
    /// hand them out ourselves, away from what staff create by hand.
    pub vmid_first: u32,
    pub vmid_last: u32,
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
    /// The Proxmox module's settings (the task poll interval is the module's default).
    pub fn proxmox_settings(&self) -> ProxmoxSettings {
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
}

impl Config {
    pub(super) fn read_provisioning_secret_files(&mut self) -> Result<(), ConfigError> {
        for (i, u) in self.provisioning.upstreams.iter_mut().enumerate() {
            if !u.token_secret_file.is_empty() {
                let file = &u.token_secret_file;
                let text = std::fs::read_to_string(file).map_err(|e| {
                    ConfigError(format!("`provisioning.upstreams[{i}].token_secret_file`: cannot read {file}: {e}"))
                })?;
                u.token_secret = Secret::new(text.trim());
            }
        }
        Ok(())
    }

    pub(super) fn validate_provisioning(&self) -> Result<(), ConfigError> {
        let ups = &self.provisioning.upstreams;
        for (i, u) in ups.iter().enumerate() {
            let key = |field: &str| format!("provisioning.upstreams[{i}].{field}");
            let name_ok = !u.name.is_empty()
                && u.name.len() <= 40
                && u.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !name_ok {
                return Err(invalid(&key("name"), "expected 1 to 40 letters, digits, '-' or '_'"));
            }
            if ups[..i].iter().any(|other| other.name == u.name) {
                return Err(invalid(&key("name"), "another upstream has this name"));
            }
            if u.kind != PROXMOX {
                return Err(invalid(&key("kind"), "expected \"proxmox\" (the only kind supported so far)"));
            }
            if !(1..=300).contains(&u.timeout_secs) {
                return Err(invalid(&key("timeout_secs"), "expected 1 to 300"));
            }
            if u.vmid_first < VMID_MIN || u.vmid_first > u.vmid_last || u.vmid_last > VMID_MAX {
                return Err(invalid(
                    &key("vmid_first"),
                    "expected vmid_first <= vmid_last, both from 100 to 999999999 (Proxmox's vmid range)",
                ));
            }
            // The module's own check, with the upstream named (its messages name the field).
            u.proxmox_settings().validate().map_err(|e| invalid(&format!("provisioning.upstreams[{i}]"), &e))?;
        }
        Ok(())
    }
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
            assert!(!c.to_redacted_toml().contains("0f1e2d3c"), "the secret is never printed");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        Jail::expect_with(|jail| {
            jail.create_file("pve-secret", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n")?;
            for (from, to, named) in [
                ("kind = \"proxmox\"", "kind = \"zjmf\"", "provisioning.upstreams[0].kind"),
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
}
