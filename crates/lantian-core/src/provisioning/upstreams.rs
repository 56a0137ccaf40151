//! The configured upstreams' modules, built once at start-up from `[provisioning]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::provider::Provider;
use super::provider::proxmox::Proxmox;
use super::provider::zjmf::Zjmf;
use crate::config::{ProvisioningConfig, UpstreamConfig};
use crate::{Error, Result};

/// The configured upstreams' modules, by name.
pub type Upstreams = BTreeMap<String, Arc<dyn Provider>>;

/// Builds a module per configured upstream (start-up has validated the settings).
pub fn upstreams_from_config(cfg: &ProvisioningConfig) -> Result<Upstreams> {
    let mut out = Upstreams::new();
    for u in &cfg.upstreams {
        let module = module(u).map_err(|e| Error::Internal(anyhow::anyhow!("upstream {:?}: {e}", u.name)))?;
        out.insert(u.name.clone(), module);
    }
    Ok(out)
}

/// The module of the upstream's kind.
fn module(u: &UpstreamConfig) -> std::result::Result<Arc<dyn Provider>, String> {
    if let Some(settings) = u.proxmox_settings() {
        return Ok(Arc::new(Proxmox::new(settings)?));
    }
    if let Some(settings) = u.zjmf_settings() {
        return Ok(Arc::new(Zjmf::new(settings)?));
    }
    Err(format!("unknown kind {:?}", u.kind))
}
