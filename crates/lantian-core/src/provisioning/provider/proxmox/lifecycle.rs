//! Everything after the create: listing, finding, reading, powering, suspending and removing
//! VMs.
//!
//! A call answering [`Progress::Pending`] has started a task; once it ends the caller calls
//! the same method again, which answers [`Progress::Done`] when the VM is as wanted (research
//! §4.3.2: the worker converges on the desired state). Terminate needs that: a running VM is
//! stopped first, and only a stopped one can be deleted.

use serde_json::Value;

use super::api::{self, NONE};
use super::vm::{self, Owner, SUSPENDED, Vm};
use super::{Proxmox, tasks};
use crate::provisioning::provider::{Handle, Power, PowerAction, Progress, ProvError, RemoteServer, Status};

/// A `/cluster/resources` row as a server; `None` for a template (a source to clone, never
/// anyone's server) or a row without a vmid.
fn listed(row: &Value) -> Option<RemoteServer> {
    if api::number(row, "template") == Some(1) {
        return None;
    }
    Some(RemoteServer {
        remote_id: api::number(row, "vmid")?.to_string(),
        node: api::text(row, "node"),
        name: api::text(row, "name").unwrap_or_default(),
        // The stamp is in the description, which the listing does not carry.
        key: None,
    })
}

/// How long a suspend's shutdown waits for the guest before pulling the plug (`forceStop`).
const SHUTDOWN_TIMEOUT_SECS: &str = "60";

impl Proxmox {
    fn vm(&self, handle: &Handle) -> Result<Vm, ProvError> {
        Vm::of(handle, &self.settings.node)
    }

    async fn config(&self, vm: &Vm) -> Result<Value, ProvError> {
        self.api.get(&vm.path("/config"), NONE).await
    }

    async fn running(&self, vm: &Vm) -> Result<bool, ProvError> {
        Ok(vm::is_running(&self.api.get(&vm.path("/status/current"), NONE).await?))
    }

    /// Pending on the task a call started, or done when it finished at once.
    fn progress(&self, answer: Value) -> Result<Progress, ProvError> {
        Ok(match tasks::started(answer)? {
            Some(op) => Progress::Pending { op, poll_after: self.settings.task_poll },
            None => Progress::Done,
        })
    }

    /// POSTs `status/{action}` with `form`.
    async fn power_call(&self, vm: &Vm, action: &str, form: &[(&str, &str)]) -> Result<Progress, ProvError> {
        let answer = self.api.post(&vm.path(&format!("/status/{action}")), form).await?;
        self.progress(answer)
    }

    /// Every VM of the cluster from one `/cluster/resources` call (research §1.3). Its rows
    /// carry vmid, node and name but not the description our key is in; the name `lc-<service>`
    /// tells our VMs, so no config is read per VM.
    pub(super) async fn list_vms(&self) -> Result<Vec<RemoteServer>, ProvError> {
        let rows = self.api.get("/cluster/resources", &[("type", "vm")]).await?;
        // An empty list would make every service look missing: only a list will do.
        let rows =
            rows.as_array().ok_or_else(|| ProvError::Invalid(format!("/cluster/resources: not a list: {rows}")))?;
        Ok(rows.iter().filter_map(listed).collect())
    }

    /// Our VMs are named `lc-<service>`; only theirs are read, in cluster order.
    pub(super) async fn find(&self, key: &str) -> Result<Option<Handle>, ProvError> {
        for server in self.list_vms().await? {
            let (true, Ok(vmid), Some(node)) = (server.name.starts_with("lc-"), server.remote_id.parse(), server.node)
            else {
                continue;
            };
            let vm = Vm { node, vmid };
            match self.config(&vm).await {
                Ok(config) if vm::owner(&config, key) == Owner::Ours => return Ok(Some(vm.handle())),
                // Deleted since the listing.
                Ok(_) | Err(ProvError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    pub(super) async fn read_status(&self, handle: &Handle) -> Result<Status, ProvError> {
        let vm = self.vm(handle)?;
        let current = self.api.get(&vm.path("/status/current"), NONE).await?;
        let config = self.config(&vm).await?;
        Ok(Status {
            power: match api::text(&current, "status").as_deref() {
                Some("running") => Power::Running,
                Some("stopped") => Power::Stopped,
                _ => Power::Unknown,
            },
            ips: vm::addresses(&config),
            locked: vm::lock(&config).or_else(|| vm::lock(&current)).is_some(),
            suspended: vm::tags(&config).iter().any(|tag| tag == SUSPENDED),
        })
    }

    /// Asking for the state the VM is already in is success without a call.
    pub(super) async fn set_power(&self, handle: &Handle, action: PowerAction) -> Result<Progress, ProvError> {
        let vm = self.vm(handle)?;
        let running = self.running(&vm).await?;
        let call = match (action, running) {
            (PowerAction::Start, true) | (PowerAction::Stop | PowerAction::Shutdown, false) => {
                return Ok(Progress::Done);
            }
            // Proxmox refuses to reboot a stopped VM; starting it is what a reboot leads to.
            (PowerAction::Start | PowerAction::Reboot, false) => "start",
            (PowerAction::Stop, true) => "stop",
            (PowerAction::Shutdown, true) => "shutdown",
            (PowerAction::Reboot, true) => "reboot",
        };
        self.power_call(&vm, call, NONE).await
    }

    /// Marks the VM first (tag `suspended`, `onboot=0`), then shuts it down: the portal blocks
    /// its power buttons from the moment of the mark, and the shutdown task is the last step.
    pub(super) async fn suspend_vm(&self, handle: &Handle) -> Result<Progress, ProvError> {
        let vm = self.vm(handle)?;
        let config = self.config(&vm).await?;
        let mut tags = vm::tags(&config);
        let tagged = tags.iter().any(|tag| tag == SUSPENDED);
        if !tagged || vm::starts_on_boot(&config) {
            if !tagged {
                tags.push(SUSPENDED.into());
            }
            self.api.put(&vm.path("/config"), &[("onboot", "0".into()), vm::tags_field(&tags)]).await?;
        }
        if !self.running(&vm).await? {
            return Ok(Progress::Done);
        }
        self.power_call(&vm, "shutdown", &[("forceStop", "1"), ("timeout", SHUTDOWN_TIMEOUT_SECS)]).await
    }

    /// The reverse of [`Proxmox::suspend_vm`]: unmark, then start.
    pub(super) async fn unsuspend_vm(&self, handle: &Handle) -> Result<Progress, ProvError> {
        let vm = self.vm(handle)?;
        let config = self.config(&vm).await?;
        let tags = vm::tags(&config);
        if tags.iter().any(|tag| tag == SUSPENDED) || !vm::starts_on_boot(&config) {
            let kept: Vec<String> = tags.into_iter().filter(|tag| tag != SUSPENDED).collect();
            self.api.put(&vm.path("/config"), &[("onboot", "1".into()), vm::tags_field(&kept)]).await?;
        }
        if self.running(&vm).await? {
            return Ok(Progress::Done);
        }
        self.power_call(&vm, "start", NONE).await
    }

    /// Stops the VM, then deletes it with its disks. A VM already gone is success; a VM that
    /// Lantian did not create (no `lantian:` stamp) is refused, whatever our records say.
    pub(super) async fn remove(&self, handle: &Handle) -> Result<Progress, ProvError> {
        match self.remove_step(&self.vm(handle)?).await {
            Err(ProvError::NotFound(_)) => Ok(Progress::Done),
            other => other,
        }
    }

    async fn remove_step(&self, vm: &Vm) -> Result<Progress, ProvError> {
        if !vm::is_lantian(&self.config(vm).await?) {
            return Err(ProvError::Conflict(format!("VM {} on {} is not one Lantian created", vm.vmid, vm.node)));
        }
        if self.running(vm).await? {
            return self.power_call(vm, "stop", NONE).await;
        }
        let answer = self.api.delete(&vm.path(""), &[("purge", "1"), ("destroy-unreferenced-disks", "1")]).await?;
        self.progress(answer)
    }
}
