//! A create as a state machine over the caller's checkpoint (research §4.3.3). Each invocation
//! reads what it needs and makes at most one mutating call:
//!
//! | step            | does                                                     | then                     |
//! |-----------------|----------------------------------------------------------|--------------------------|
//! | `clone` (or "") | GET the reserved vmid's config; absent: full clone       | `wait_clone`             |
//! |                 | ours (description `lantian:<key>`): resume               | `configure`              |
//! |                 | only `lock: clone`: a clone in flight                    | `clone` again            |
//! |                 | anything else                                            | `Conflict`               |
//! | `wait_clone`    | poll the clone task                                      | `configure`              |
//! | `configure`     | PUT cores, memory, cloud-init login and IP, net0, onboot | `resize`                 |
//! | `resize`        | PUT the boot disk's absolute size                        | `wait_resize` or `start` |
//! | `wait_resize`   | poll the resize task                                     | `start`                  |
//! | `start`         | already running: nothing; else POST start                | `wait_start` or `verify` |
//! | `wait_start`    | poll the start task                                      | `verify`                 |
//! | `verify`        | `status/current` says running                            | done (else `start`)      |
//!
//! Every step can be repeated: configure and an absolute resize are idempotent, start checks
//! the power first, and clone checks the vmid first. So after an error the caller simply calls
//! again with the checkpoint it stored, an unknown outcome included.
//!
//! A failed task ends the create with [`ProvError::Invalid`] and its exit text (a missing
//! storage, a full disk: staff must act), except the failures a redo fixes (a lock held by
//! another task, "already running"): those go back to the step that started the task.

use std::time::Duration;

use super::api::{self, NONE};
use super::vm::{self, Owner, Vm};
use super::{Proxmox, tasks};
use crate::provisioning::provider::{
    Checkpoint, CreateRequest, CreateStep, Login, OpRef, OpState, ProvError, failure_report,
};

/// The user cloud-init creates: the portal tells customers to log in as root.
const CI_USER: &str = "root";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Clone,
    WaitClone,
    Configure,
    Resize,
    WaitResize,
    Start,
    WaitStart,
    Verify,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::Clone,
        Step::WaitClone,
        Step::Configure,
        Step::Resize,
        Step::WaitResize,
        Step::Start,
        Step::WaitStart,
        Step::Verify,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::Clone => "clone",
            Step::WaitClone => "wait_clone",
            Step::Configure => "configure",
            Step::Resize => "resize",
            Step::WaitResize => "wait_resize",
            Step::Start => "start",
            Step::WaitStart => "wait_start",
            Step::Verify => "verify",
        }
    }

    /// The default checkpoint's empty step is the first.
    fn parse(name: &str) -> Option<Step> {
        if name.is_empty() {
            return Some(Step::Clone);
        }
        Step::ALL.into_iter().find(|step| step.name() == name)
    }
}

pub(super) async fn step(p: &Proxmox, r: &CreateRequest, at: &Checkpoint) -> Result<CreateStep, ProvError> {
    let step = Step::parse(&at.step).ok_or_else(|| ProvError::Invalid(format!("unknown create step {:?}", at.step)))?;
    match step {
        Step::Clone => clone(p, r).await,
        Step::WaitClone => wait(p, at, Step::WaitClone, Step::Configure, Step::Clone).await,
        Step::Configure => configure(p, r, &vm_of(at)?).await,
        Step::Resize => resize(p, r, &vm_of(at)?).await,
        Step::WaitResize => wait(p, at, Step::WaitResize, Step::Start, Step::Resize).await,
        Step::Start => start(p, &vm_of(at)?).await,
        Step::WaitStart => wait(p, at, Step::WaitStart, Step::Verify, Step::Start).await,
        Step::Verify => verify(p, &vm_of(at)?).await,
    }
}

/// The VM the clone step named, for every later step.
fn vm_of(at: &Checkpoint) -> Result<Vm, ProvError> {
    let vmid = at.remote_id.as_deref().and_then(|id| id.parse().ok());
    match (vmid, at.node.clone()) {
        (Some(vmid), Some(node)) => Ok(Vm { node, vmid }),
        _ => Err(ProvError::Invalid(format!("checkpoint at {:?} names no vmid and node", at.step))),
    }
}

/// The checkpoint for `step` on `vm`, due after `after`.
fn next(vm: &Vm, step: Step, op: Option<OpRef>, after: Duration) -> CreateStep {
    let checkpoint =
        Checkpoint { step: step.name().into(), remote_id: Some(vm.vmid.to_string()), node: Some(vm.node.clone()), op };
    CreateStep::Next { checkpoint, after }
}

/// After a call that may have started a task: wait for it, or go on when it finished at once.
fn after_call(
    p: &Proxmox,
    vm: &Vm,
    answer: serde_json::Value,
    wait: Step,
    then: Step,
) -> Result<CreateStep, ProvError> {
    Ok(match tasks::started(answer)? {
        Some(op) => next(vm, wait, Some(op), p.settings.task_poll),
        None => next(vm, then, None, Duration::ZERO),
    })
}

async fn clone(p: &Proxmox, r: &CreateRequest) -> Result<CreateStep, ProvError> {
    let vmid = r.vmid.ok_or_else(|| ProvError::Invalid("Proxmox needs a vmid reserved from our pool".into()))?;
    let (template, node) = match r.target.split_once('@') {
        Some((template, node)) => (template, node.to_string()),
        None => (r.target.as_str(), p.settings.node.clone()),
    };
    let template: u32 = template
        .parse()
        .map_err(|_| ProvError::Invalid(format!("template {:?} is not `vmid` or `vmid@node`", r.target)))?;
    // The clone stays on the template's node: a `target` node needs shared storage, and its
    // config moves there only at the clone's end, so the in-flight check below would miss it.
    let vm = Vm { node, vmid };
    match p.api.get(&vm.path("/config"), NONE).await {
        Err(ProvError::NotFound(_)) => {}
        Err(e) => return Err(e),
        Ok(config) => {
            return match vm::owner(&config, &r.key) {
                Owner::Ours => Ok(next(&vm, Step::Configure, None, Duration::ZERO)),
                Owner::CloneInFlight => Ok(next(&vm, Step::Clone, None, p.settings.task_poll)),
                Owner::Foreign => Err(ProvError::Conflict(format!(
                    "vmid {vmid} on {} holds a VM that is not this service's",
                    vm.node
                ))),
            };
        }
    }
    let form = [
        ("newid", vmid.to_string()),
        ("name", r.hostname.clone()),
        ("description", vm::stamp(&r.key)),
        // A linked clone would depend on the template forever; `storage` needs a full one.
        ("full", "1".into()),
        ("storage", p.settings.storage.clone()),
    ];
    let path = format!("/nodes/{}/qemu/{template}/clone", api::encode(&vm.node));
    let answer = p.api.post(&path, &form).await.map_err(|e| match e {
        // The template or the storage is missing: the plan's configuration is wrong.
        ProvError::NotFound(text) => ProvError::Invalid(text),
        other => other,
    })?;
    after_call(p, &vm, answer, Step::WaitClone, Step::Configure)
}

/// Polls the task of `current`; success goes on to `then`, a failure a redo fixes to `redo`.
async fn wait(p: &Proxmox, at: &Checkpoint, current: Step, then: Step, redo: Step) -> Result<CreateStep, ProvError> {
    let vm = &vm_of(at)?;
    let op = at.op.clone().ok_or_else(|| ProvError::Invalid(format!("checkpoint at {:?} has no task", at.step)))?;
    match tasks::poll(&p.api, &op).await? {
        OpState::Running => Ok(next(vm, current, Some(op), p.settings.task_poll)),
        OpState::Succeeded => Ok(next(vm, then, None, Duration::ZERO)),
        OpState::Failed { error, .. } if tasks::worth_redoing(&error) => {
            tracing::warn!(vmid = vm.vmid, step = current.name(), error, "Proxmox task failed; doing its step again");
            Ok(next(vm, redo, None, p.settings.task_poll))
        }
        OpState::Failed { error, log } => {
            Err(ProvError::Invalid(failure_report(&format!("{} failed: {error}", op.id), &log)))
        }
    }
}

async fn configure(p: &Proxmox, r: &CreateRequest, vm: &Vm) -> Result<CreateStep, ProvError> {
    let ip = r.ip.as_ref().ok_or_else(|| ProvError::Invalid("Proxmox needs an IP reserved from our pool".into()))?;
    let config = p.api.get(&vm.path("/config"), NONE).await?;
    let (ip_key, gw_key) = if ip.address.contains(':') { ("ip6", "gw6") } else { ("ip", "gw") };
    let login = match &r.login {
        // Proxmox stores a hash; the cloud-init drive is rebuilt at start, so the VM may be off.
        Login::Password(password) => ("cipassword", password.clone()),
        Login::SshKey(keys) => ("sshkeys", ssh_keys(keys)),
    };
    let form = [
        ("cores", r.vcpu.to_string()),
        ("memory", r.memory_mb.to_string()),
        ("ciuser", CI_USER.into()),
        login,
        ("ipconfig0", format!("{ip_key}={}/{},{gw_key}={}", ip.address, ip.prefix_len, ip.gateway)),
        ("net0", vm::net0(&config, &p.settings.bridge, r.bandwidth_mbps)),
        ("onboot", "1".into()),
    ];
    p.api.put(&vm.path("/config"), &form).await?;
    Ok(next(vm, Step::Resize, None, Duration::ZERO))
}

/// The `sshkeys` value: each key as `type base64`, without its comment (often its owner's
/// e-mail address, which Proxmox has no need of), then percent-encoded as the `urlencoded`
/// format demands (the form encoding then encodes it once more).
fn ssh_keys(keys: &str) -> String {
    let keys: Vec<String> = keys
        .lines()
        .map(|line| line.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .filter(|k| !k.is_empty())
        .collect();
    api::encode(&keys.join("\n"))
}

async fn resize(p: &Proxmox, r: &CreateRequest, vm: &Vm) -> Result<CreateStep, ProvError> {
    let config = p.api.get(&vm.path("/config"), NONE).await?;
    let disk = vm::boot_disk(&config)
        .ok_or_else(|| ProvError::Invalid(format!("VM {} has no scsi0, virtio0 or sata0 disk to resize", vm.vmid)))?;
    // An absolute size: a repeat, or the size it already has, changes nothing.
    let answer =
        p.api.put(&vm.path("/resize"), &[("disk", disk.to_string()), ("size", format!("{}G", r.disk_gb))]).await?;
    after_call(p, vm, answer, Step::WaitResize, Step::Start)
}

async fn start(p: &Proxmox, vm: &Vm) -> Result<CreateStep, ProvError> {
    // Starting a running VM fails its task: an earlier start that we lost track of won.
    if vm::is_running(&p.api.get(&vm.path("/status/current"), NONE).await?) {
        return Ok(next(vm, Step::Verify, None, Duration::ZERO));
    }
    let answer = p.api.post(&vm.path("/status/start"), NONE).await?;
    after_call(p, vm, answer, Step::WaitStart, Step::Verify)
}

async fn verify(p: &Proxmox, vm: &Vm) -> Result<CreateStep, ProvError> {
    if vm::is_running(&p.api.get(&vm.path("/status/current"), NONE).await?) {
        return Ok(CreateStep::Done(vm.handle()));
    }
    tracing::warn!(vmid = vm.vmid, node = vm.node, "VM stopped right after its start; starting it again");
    Ok(next(vm, Step::Start, None, p.settings.task_poll))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_and_empty_is_the_first() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.name()), Some(step));
        }
        assert_eq!((Step::parse(""), Step::parse("nope")), (Some(Step::Clone), None));
    }

    #[test]
    fn ssh_keys_lose_their_comments_and_are_urlencoded() {
        let keys = "ssh-ed25519 AAAAC3Nz+k/1= zhang.san@example.com\n\nssh-rsa AAAAB3= \n";
        assert_eq!(ssh_keys(keys), "ssh-ed25519%20AAAAC3Nz%2Bk%2F1%3D%0Assh-rsa%20AAAAB3%3D");
    }
}
