//! The upstream providers a server is created at: one trait, a module per protocol.
//!
//! Semantics (research `provisioning-upstreams.md` §4): every mutating call is safe to repeat
//! (suspend twice, stop a stopped server, delete a missing one: all succeed); a create runs in
//! steps, each invocation making at most one mutating upstream call, and the caller stores the
//! returned checkpoint before the next invocation, so a retry after an unknown outcome finds
//! the first server instead of making a second. Modules are HTTP clients only: they never touch
//! the database, and they receive only the service's own parameters and a pseudonymous customer
//! reference with the real-name status (C3.5) — never an e-mail, phone, name or ID number.

pub mod proxmox;
pub mod zjmf;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What a module can do beyond the common calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Renewal is a call at the upstream (a reseller bills it); false: a local no-op (Proxmox).
    pub renew_upstream: bool,
    /// The caller reserves a vmid and an IP address from our pools before creating.
    pub needs_reservations: bool,
}

/// The server to create, as the service and its plan say.
#[derive(Clone)]
pub struct CreateRequest {
    pub service_id: i64,
    /// Our idempotency key, stamped on the remote side (description, hostname or order note).
    pub key: String,
    /// `lc-<service id>`: the only name the upstream sees.
    pub hostname: String,
    pub vcpu: u32,
    pub memory_mb: u32,
    pub disk_gb: u32,
    pub bandwidth_mbps: u32,
    pub os_image: String,
    /// What the module creates from, as staff configured it for the plan and region: a
    /// template (`9000` or `9000@node`) for Proxmox, a product id for a reseller.
    pub target: String,
    /// Months bought, for upstreams that bill (resellers).
    pub months: u32,
    /// The first login: a generated password or the customer's SSH public key.
    pub login: Login,
    /// Reserved from our pools when `Caps::needs_reservations`.
    pub vmid: Option<u32>,
    pub ip: Option<IpLease>,
    /// The billing account's pseudonym (`A…`), never a name or an address.
    pub customer_ref: String,
    pub real_name_verified: bool,
}

/// No `Debug`: it holds a password.
#[derive(Clone)]
pub enum Login {
    Password(String),
    SshKey(String),
}

/// An address from our pool with its network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpLease {
    /// `203.0.113.10`
    pub address: String,
    pub prefix_len: u8,
    pub gateway: String,
}

/// Where a create stands. Opaque to the caller, which stores it (as JSON) before each call and
/// hands it back; `step` names the step for staff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub step: String,
    pub remote_id: Option<String>,
    pub node: Option<String>,
    pub op: Option<OpRef>,
}

/// The answer to one create invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateStep {
    /// Store the checkpoint, then call `create` again after `after` (an upstream task runs,
    /// or the next step is due).
    Next { checkpoint: Checkpoint, after: Duration },
    /// The server exists, is configured and running.
    Done(Handle),
}

/// A server at the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    /// The upstream's id: the vmid, or the reseller's host id.
    pub remote_id: String,
    /// Proxmox: the node holding the VM.
    pub node: Option<String>,
}

/// A server the upstream holds, as its listing shows it (for the reconciler: research §4.3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteServer {
    /// The upstream's id: the vmid, or the reseller's host id.
    pub remote_id: String,
    /// Proxmox: the node holding the VM.
    pub node: Option<String>,
    /// The upstream's name for it (`lc-<service>` for our Proxmox VMs); empty when it has none
    /// yet (a Proxmox clone still copying).
    pub name: String,
    /// Our idempotency key, when the listing shows the server stamped with one.
    pub key: Option<String>,
}

/// An operation the upstream runs on its own: a Proxmox UPID, a reseller's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRef {
    pub id: String,
    pub node: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpState {
    Running,
    Succeeded,
    /// The upstream's error text and the end of the operation's log, if it keeps one (no
    /// personal data: the upstream never had any).
    Failed {
        error: String,
        log: Vec<String>,
    },
}

impl OpState {
    pub fn failed(error: impl Into<String>) -> OpState {
        OpState::Failed { error: error.into(), log: Vec::new() }
    }
}

/// What staff read of a failed operation: the error, then the end of its log.
pub fn failure_report(error: &str, log: &[String]) -> String {
    if log.is_empty() {
        return error.to_owned();
    }
    format!("{error}\n--- task log ---\n{}", log.join("\n"))
}

/// A mutating call's answer: done, or an operation to poll. After `Pending`, the caller polls
/// the operation until it ends and then calls the same method again, until it answers `Done`
/// (a terminate first stops the server, then deletes it; each call is safe to repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done,
    Pending { op: OpRef, poll_after: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    Start,
    /// A clean shutdown through the guest.
    Shutdown,
    /// Pulls the plug.
    Stop,
    Reboot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Power {
    Running,
    Stopped,
    Unknown,
}

/// What the upstream says of a server now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub power: Power,
    pub ips: Vec<String>,
    /// A task holds it (Proxmox `lock`): power actions must wait.
    pub locked: bool,
    pub suspended: bool,
}

/// Why a call failed, classified so the caller knows what to do (§4.2). The text is for staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvError {
    /// Connection, TLS, 5xx, "is locked", "got timeout": back off and retry.
    #[error("temporary upstream failure: {0}")]
    Transient(String),
    /// A non-idempotent call timed out after it was sent: find or poll before retrying.
    #[error("unknown outcome: {0}")]
    UnknownOutcome(String),
    /// 401/403, a bad token or key: stop and alert staff.
    #[error("the upstream refused our credentials: {0}")]
    Auth(String),
    /// A bad plan, template or value: permanent, alert staff.
    #[error("the upstream refused the request: {0}")]
    Invalid(String),
    /// The server does not exist: success for terminate, otherwise alert.
    #[error("not found at the upstream: {0}")]
    NotFound(String),
    /// The vmid exists, an unpaid order exists: resolved by the create steps.
    #[error("conflict at the upstream: {0}")]
    Conflict(String),
    /// Low reseller balance, no addresses, no capacity: alert and keep the service pending.
    #[error("the upstream is out of resources: {0}")]
    Exhausted(String),
}

impl ProvError {
    /// Worth trying again later without staff.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProvError::Transient(_) | ProvError::UnknownOutcome(_) | ProvError::Conflict(_))
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The module's kind (`proxmox`, `zjmf`) for the disclosure ledger and the console.
    fn kind(&self) -> &'static str;
    fn capabilities(&self) -> Caps;
    /// The fields of a create the upstream receives, as the disclosure ledger names them.
    fn disclosed_fields(&self) -> &'static [&'static str];
    async fn test_connection(&self) -> Result<(), ProvError>;
    /// One step of a create from `at` (the default checkpoint to begin).
    async fn create(&self, r: &CreateRequest, at: &Checkpoint) -> Result<CreateStep, ProvError>;
    /// The server stamped with `key`, if the upstream has one.
    async fn find_by_key(&self, key: &str) -> Result<Option<Handle>, ProvError>;
    /// Every server the upstream holds that our credentials can see, ours or not: a Proxmox
    /// cluster's VMs (templates aside), a reseller account's hosts (deleted ones aside).
    async fn list(&self) -> Result<Vec<RemoteServer>, ProvError>;
    async fn status(&self, h: &Handle) -> Result<Status, ProvError>;
    async fn power(&self, h: &Handle, a: PowerAction) -> Result<Progress, ProvError>;
    async fn suspend(&self, h: &Handle) -> Result<Progress, ProvError>;
    async fn unsuspend(&self, h: &Handle) -> Result<Progress, ProvError>;
    /// A server already gone is success.
    async fn terminate(&self, h: &Handle) -> Result<Progress, ProvError>;
    async fn renew(&self, h: &Handle, months: u32) -> Result<Progress, ProvError>;
    async fn poll(&self, op: &OpRef) -> Result<OpState, ProvError>;
}
