//! The configured upstreams' modules, built once at start-up from `[provisioning]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::provider::Provider;
use super::provider::proxmox::Proxmox;
use crate::config::{PROXMOX, ProvisioningConfig};
use crate::{Error, Result};

/// The configured upstreams' modules, by name.
pub type Upstreams = BTreeMap<String, Arc<dyn Provider>>;

/// Builds a module per configured upstream (start-up has validated the settings).
pub fn upstreams_from_config(cfg: &ProvisioningConfig) -> Result<Upstreams> {
    let mut out = Upstreams::new();
    for u in &cfg.upstreams {
        let module: Arc<dyn Provider> = match u.kind.as_str() {
            PROXMOX => Arc::new(
                Proxmox::new(u.proxmox_settings())
                    .map_err(|e| Error::Internal(anyhow::anyhow!("upstream {:?}: {e}", u.name)))?,
            ),
            other => return Err(Error::Internal(anyhow::anyhow!("upstream {:?}: unknown kind {other:?}", u.name))),
        };
        out.insert(u.name.clone(), module);
    }
    Ok(out)
}
