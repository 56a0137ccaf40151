//! One VM: where it is, and what its config and status say.

use serde_json::Value;

use super::api::{self, encode};
use crate::provisioning::provider::{Handle, ProvError};

/// The tag a suspended VM carries (tags must match `[a-z0-9_][a-z0-9_\-+.]*`).
pub(super) const SUSPENDED: &str = "suspended";

/// A VM's node and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Vm {
    pub node: String,
    pub vmid: u32,
}

impl Vm {
    /// The VM a handle names; a handle without a node is on the default node.
    pub(super) fn of(handle: &Handle, default_node: &str) -> Result<Vm, ProvError> {
        let vmid = handle
            .remote_id
            .parse()
            .map_err(|_| ProvError::Invalid(format!("{:?} is not a Proxmox vmid", handle.remote_id)))?;
        Ok(Vm { node: handle.node.clone().unwrap_or_else(|| default_node.to_string()), vmid })
    }

    pub(super) fn handle(&self) -> Handle {
        Handle { remote_id: self.vmid.to_string(), node: Some(self.node.clone()) }
    }

    /// `/nodes/{node}/qemu/{vmid}{rest}`.
    pub(super) fn path(&self, rest: &str) -> String {
        format!("/nodes/{}/qemu/{}{rest}", encode(&self.node), self.vmid)
    }
}

/// The description line that stamps a VM with our idempotency key.
pub(super) fn stamp(key: &str) -> String {
    format!("lantian:{key}")
}

/// What a VM found at a vmid is to a create with `key`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// Stamped with the key: ours, from an earlier attempt.
    Ours,
    /// Only `lock: clone`: a clone is still copying (name and description come at its end).
    CloneInFlight,
    /// Anything else: not ours to touch.
    Foreign,
}

pub(super) fn owner(config: &Value, key: &str) -> Owner {
    let stamp = stamp(key);
    if description_has(config, |line| line == stamp) {
        Owner::Ours
    } else if lock(config).as_deref() == Some("clone") && config.get("name").is_none() {
        Owner::CloneInFlight
    } else {
        Owner::Foreign
    }
}

/// Stamped with any key: a VM Lantian created, which it may delete.
pub(super) fn is_lantian(config: &Value) -> bool {
    let prefix = stamp("");
    description_has(config, |line| line.starts_with(&prefix))
}

/// Staff may add notes to a description; the stamp is a line of its own.
fn description_has(config: &Value, wanted: impl Fn(&str) -> bool) -> bool {
    api::text(config, "description").unwrap_or_default().lines().any(|line| wanted(line.trim()))
}

/// The task lock (`clone`, `backup`, `migrate` …) on a config or a status.
pub(super) fn lock(value: &Value) -> Option<String> {
    api::text(value, "lock").filter(|lock| !lock.is_empty())
}

/// `status/current` says `running`; any other state (`stopped`) counts as off.
pub(super) fn is_running(status: &Value) -> bool {
    api::text(status, "status").as_deref() == Some("running")
}

/// Proxmox writes tags separated by `;` and reads `,` and spaces too.
pub(super) fn tags(config: &Value) -> Vec<String> {
    let tags = api::text(config, "tags").unwrap_or_default();
    tags.split([';', ',', ' ']).filter(|tag| !tag.is_empty()).map(str::to_string).collect()
}

/// The form fields that leave the VM's tags as `tags`: an empty list must be deleted, as
/// Proxmox refuses an empty value.
pub(super) fn tags_field(tags: &[String]) -> (&'static str, String) {
    if tags.is_empty() { ("delete", "tags".into()) } else { ("tags", tags.join(";")) }
}

/// `onboot` is set to 1: the VM starts with its node.
pub(super) fn starts_on_boot(config: &Value) -> bool {
    api::number(config, "onboot") == Some(1)
}

/// The addresses in `ipconfig0` (`ip=203.0.113.10/24,gw=…,ip6=…`), which our pool wrote. The
/// guest agent is not asked: customer images need not run it, and it answers errors when absent.
pub(super) fn addresses(config: &Value) -> Vec<String> {
    let ipconfig = api::text(config, "ipconfig0").unwrap_or_default();
    ipconfig
        .split(',')
        .filter_map(|part| part.strip_prefix("ip=").or_else(|| part.strip_prefix("ip6=")))
        .filter(|cidr| !matches!(*cidr, "dhcp" | "auto"))
        .map(|cidr| cidr.split('/').next().unwrap_or(cidr).to_string())
        .collect()
}

/// The disk a template boots from, for the resize: the first of the usual boot buses present.
pub(super) fn boot_disk(config: &Value) -> Option<&'static str> {
    ["scsi0", "virtio0", "sata0"].into_iter().find(|disk| config.get(*disk).is_some())
}

/// `net0` on our bridge with the plan's bandwidth (`rate` is in MB/s), keeping the model and the
/// MAC address the clone was given (`virtio=BC:24:…`), so a repeated configure changes nothing.
pub(super) fn net0(config: &Value, bridge: &str, bandwidth_mbps: u32) -> String {
    let current = api::text(config, "net0").unwrap_or_default();
    let card = current.split(',').next().filter(|card| !card.is_empty() && !card.contains("bridge="));
    let mut net0 = format!("{},bridge={bridge}", card.unwrap_or("virtio"));
    if bandwidth_mbps > 0 {
        net0.push_str(&format!(",rate={}", f64::from(bandwidth_mbps) / 8.0));
    }
    net0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tells_ours_from_a_clone_in_flight_and_foreign() {
        let ours = json!({"name": "lc-7", "description": "lantian:k7\nmoved by staff", "lock": "backup"});
        assert_eq!(owner(&ours, "k7"), Owner::Ours);
        assert_eq!(owner(&ours, "k"), Owner::Foreign, "a key is a whole line, not a prefix");
        assert_eq!(owner(&json!({"lock": "clone", "digest": "ab"}), "k7"), Owner::CloneInFlight);
        assert_eq!(owner(&json!({"name": "db", "lock": "clone"}), "k7"), Owner::Foreign);
        assert!(is_lantian(&ours) && !is_lantian(&json!({"description": "lantian"})));
    }

    #[test]
    fn reads_config_fields() {
        let config = json!({
            "ipconfig0": "ip=203.0.113.10/24,gw=203.0.113.1,ip6=2001:db8::a/64,gw6=2001:db8::1",
            "tags": "web;suspended", "onboot": "1", "net0": "virtio=BC:24:11:00:00:05,bridge=vmbr1",
            "scsi0": "local-lvm:vm-101-disk-0,size=20G",
        });
        assert_eq!(addresses(&config), ["203.0.113.10", "2001:db8::a"]);
        assert_eq!(addresses(&json!({"ipconfig0": "ip=dhcp"})), Vec::<String>::new());
        assert_eq!(tags(&config), ["web", "suspended"]);
        assert!(starts_on_boot(&config) && !starts_on_boot(&json!({})));
        assert_eq!(tags_field(&[]), ("delete", "tags".to_string()));
        assert_eq!(boot_disk(&config), Some("scsi0"));
        assert_eq!(net0(&config, "vmbr0", 100), "virtio=BC:24:11:00:00:05,bridge=vmbr0,rate=12.5");
        assert_eq!(net0(&json!({}), "vmbr0", 0), "virtio,bridge=vmbr0");
    }
}
