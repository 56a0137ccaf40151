//! Proxmox VE (research `provisioning-upstreams.md` §1, §4): servers are full clones of a
//! cloud-init template, configured and started through the REST API with an API token.
//!
//! - Auth: `Authorization: PVEAPIToken=user@realm!name=secret` on every call ([`api`]).
//! - Create: steps over the caller's checkpoint, each making at most one mutating call
//!   ([`create`]). The VM is stamped with `description=lantian:<key>` and named `lc-<service>`,
//!   so a retry finds it instead of cloning a second one.
//! - Suspend: tag `suspended` and `onboot=0`, then a shutdown that pulls the plug after
//!   60 s; the portal blocks power actions while the tag is there ([`lifecycle`]).
//! - Status: power from `status/current`, addresses from our own `ipconfig0`.
//! - List: every VM of the cluster from `/cluster/resources`, hand-made ones included.
//! - Renew: nothing at Proxmox; billing is ours alone.
//!
//! Proxmox receives the hostname `lc-<service>`, our key, the plan's sizes, the template, the
//! login (password, or SSH keys without their comments) and the reserved address: no customer
//! reference, name or contact (C3.5). The token is never shown by `Debug` or logged.

mod api;
mod create;
mod lifecycle;
mod settings;
mod tasks;
mod vm;

use async_trait::async_trait;

use super::{Caps, Checkpoint, CreateRequest, CreateStep, Handle, OpRef, OpState, PowerAction, Progress, ProvError};
use super::{Provider, RemoteServer, Status};
use api::{Api, NONE};

pub use settings::ProxmoxSettings;

/// What Proxmox receives of a create, as the disclosure ledger names the fields.
pub const DISCLOSED_FIELDS: &[&str] = &["hostname", "plan", "os_image", "ssh_key_or_password", "ip_address"];

/// The Proxmox VE module. Holds the token: no `Debug`.
pub struct Proxmox {
    api: Api,
    settings: ProxmoxSettings,
}

impl Proxmox {
    /// Checks the settings ([`ProxmoxSettings::validate`]) and builds the HTTP client.
    pub fn new(settings: ProxmoxSettings) -> Result<Proxmox, String> {
        settings.validate()?;
        Ok(Proxmox { api: Api::new(&settings)?, settings })
    }
}

#[async_trait]
impl Provider for Proxmox {
    fn kind(&self) -> &'static str {
        "proxmox"
    }

    fn capabilities(&self) -> Caps {
        // `/cluster/nextid` reserves nothing (parallel creates get the same id): the caller
        // hands out vmids and addresses from its own pools.
        Caps { renew_upstream: false, needs_reservations: true }
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED_FIELDS
    }

    /// Proves the address, the token, and that the default node answers.
    async fn test_connection(&self) -> Result<(), ProvError> {
        self.api.get(&format!("/nodes/{}/qemu", api::encode(&self.settings.node)), NONE).await.map(drop)
    }

    async fn create(&self, r: &CreateRequest, at: &Checkpoint) -> Result<CreateStep, ProvError> {
        create::step(self, r, at).await
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<Handle>, ProvError> {
        self.find(key).await
    }

    async fn list(&self) -> Result<Vec<RemoteServer>, ProvError> {
        self.list_vms().await
    }

    async fn status(&self, h: &Handle) -> Result<Status, ProvError> {
        self.read_status(h).await
    }

    async fn power(&self, h: &Handle, a: PowerAction) -> Result<Progress, ProvError> {
        self.set_power(h, a).await
    }

    async fn suspend(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.suspend_vm(h).await
    }

    async fn unsuspend(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.unsuspend_vm(h).await
    }

    async fn terminate(&self, h: &Handle) -> Result<Progress, ProvError> {
        self.remove(h).await
    }

    /// Proxmox bills nothing: a renewal is ours alone.
    async fn renew(&self, _h: &Handle, _months: u32) -> Result<Progress, ProvError> {
        Ok(Progress::Done)
    }

    async fn poll(&self, op: &OpRef) -> Result<OpState, ProvError> {
        tasks::poll(&self.api, op).await
    }
}
