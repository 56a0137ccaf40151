//! The fake cluster's state: one node, its VMs and its tasks.
//!
//! Tasks end lazily: every request first settles the tasks whose simulated duration has passed
//! by the fake's clock, applying their effects in the order they end. So the fake needs no
//! timer, and a test that moves the clock moves the tasks with it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::faults::ProxmoxFaults;
use super::reply::PveError;

/// A VM's configuration as Proxmox keeps it: `key: value` lines.
pub type Config = BTreeMap<String, String>;

/// A VM in the fake, as [`super::ProxmoxFake::vms`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeVm {
    pub vmid: u32,
    pub node: String,
    pub running: bool,
    /// As stored: `sshkeys` percent-encoded, `cipassword` masked (Proxmox keeps a hash).
    pub config: Config,
}

#[derive(Debug, Clone)]
pub(super) struct Guest {
    pub running: bool,
    pub config: Config,
}

impl Guest {
    pub(super) fn lock(&self) -> Option<&str> {
        self.config.get("lock").map(String::as_str)
    }

    /// Refuses a change while a task holds the VM.
    pub(super) fn unlocked(&self) -> Result<(), PveError> {
        self.lock().map_or(Ok(()), |lock| Err(PveError::locked(lock)))
    }
}

/// What a task does to the cluster when it ends.
#[derive(Debug)]
pub(super) enum Effect {
    Nothing,
    /// A finished clone: its config replaces the `lock: clone` placeholder.
    Configure(u32, Config),
    /// A failed clone, a destroyed VM.
    Remove(u32),
    Power(u32, bool),
}

struct Task {
    upid: String,
    pid: u32,
    kind: String,
    id: u32,
    starttime: i64,
    end_ms: i64,
    /// The exit status once stopped: "OK" or the error.
    exit: String,
    effect: Effect,
    done: bool,
}

/// What a request brings to the cluster.
pub(super) struct Ctx<'a> {
    pub now_ms: i64,
    /// The token id, which UPIDs name as the task's user.
    pub user: &'a str,
    pub faults: &'a ProxmoxFaults,
}

/// Finished tasks beyond this many are forgotten, oldest first. A real node keeps its task
/// logs for days, so a client polling late still finds its task: enough for thousands of
/// creates in flight at once.
const KEEP_TASKS: usize = 50_000;

pub(super) struct Cluster {
    pub node: String,
    pub vms: BTreeMap<u32, Guest>,
    tasks: Vec<Task>,
    task_ms: i64,
    /// Numbers process ids and MAC addresses.
    counter: u32,
}

impl Cluster {
    pub(super) fn new(node: &str, templates: &[u32], task_ms: i64) -> Cluster {
        let mut cluster =
            Cluster { node: node.to_owned(), vms: BTreeMap::new(), tasks: Vec::new(), task_ms, counter: 0 };
        for &vmid in templates {
            let disk = format!("local-lvm:base-{vmid}-disk-0,size=2G");
            let cloudinit = format!("local-lvm:vm-{vmid}-cloudinit,media=cdrom");
            let net0 = format!("virtio={},bridge=vmbr0", cluster.next_mac());
            let config = [
                ("name", format!("template-{vmid}")),
                ("template", "1".into()),
                ("cores", "1".into()),
                ("memory", "1024".into()),
                ("ostype", "l26".into()),
                ("boot", "order=scsi0".into()),
                ("scsihw", "virtio-scsi-pci".into()),
                ("scsi0", disk),
                ("ide2", cloudinit),
                ("net0", net0),
            ];
            cluster.insert(vmid, config.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        }
        cluster
    }

    /// A stopped VM with `config`.
    pub(super) fn insert(&mut self, vmid: u32, config: Config) {
        self.vms.insert(vmid, Guest { running: false, config });
    }

    /// Proxmox's generated MAC prefix, then a counter.
    pub(super) fn next_mac(&mut self) -> String {
        self.counter += 1;
        let [_, a, b, c] = self.counter.to_be_bytes();
        format!("BC:24:11:{a:02X}:{b:02X}:{c:02X}")
    }

    /// This cluster's only node; another name cannot be resolved.
    pub(super) fn on_node(&self, node: &str) -> Result<(), PveError> {
        if node == self.node {
            return Ok(());
        }
        Err(PveError::internal(format!("hostname lookup '{node}' failed - failed to get address info for: {node}")))
    }

    pub(super) fn guest(&self, vmid: u32) -> Result<&Guest, PveError> {
        self.vms.get(&vmid).ok_or_else(|| PveError::no_config(&self.node, vmid))
    }

    pub(super) fn guest_mut(&mut self, vmid: u32) -> Result<&mut Guest, PveError> {
        let node = &self.node;
        self.vms.get_mut(&vmid).ok_or_else(|| PveError::no_config(node, vmid))
    }

    /// Ends the tasks due by `now_ms`, in the order they end.
    pub(super) fn settle(&mut self, now_ms: i64) {
        let mut due: Vec<usize> =
            (0..self.tasks.len()).filter(|&i| !self.tasks[i].done && self.tasks[i].end_ms <= now_ms).collect();
        due.sort_by_key(|&i| self.tasks[i].end_ms);
        for i in due {
            self.tasks[i].done = true;
            match std::mem::replace(&mut self.tasks[i].effect, Effect::Nothing) {
                Effect::Nothing => {}
                Effect::Configure(vmid, config) => {
                    self.vms.entry(vmid).or_insert(Guest { running: false, config: Config::new() }).config = config;
                }
                Effect::Remove(vmid) => {
                    self.vms.remove(&vmid);
                }
                Effect::Power(vmid, running) => {
                    if let Some(guest) = self.vms.get_mut(&vmid) {
                        guest.running = running;
                    }
                }
            }
        }
        while self.tasks.len() > KEEP_TASKS && self.tasks[0].done {
            self.tasks.remove(0);
        }
    }

    /// Starts a task of `kind` on `id` and answers its UPID. It ends after the task duration
    /// with `failure` (or the armed [`ProxmoxFaults::fail_next_task`]) and `on_fail`'s effect,
    /// or with "OK" and `on_ok`'s.
    pub(super) fn task(
        &mut self,
        ctx: &Ctx<'_>,
        kind: &str,
        id: u32,
        on_ok: Effect,
        on_fail: Effect,
        failure: Option<String>,
    ) -> Value {
        self.counter += 1;
        let (pid, pstart, starttime) = (0x1_0000 + self.counter, 0x10_0000 + self.counter * 7, ctx.now_ms / 1000);
        let upid = format!("UPID:{}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{}:", self.node, ctx.user);
        let (exit, effect) = match ctx.faults.take_task_failure().or(failure) {
            Some(error) => (error, on_fail),
            None => ("OK".to_owned(), on_ok),
        };
        let end_ms = ctx.now_ms + self.task_ms;
        let kind = kind.to_owned();
        self.tasks.push(Task { upid: upid.clone(), pid, kind, id, starttime, end_ms, exit, effect, done: false });
        json!(upid)
    }

    /// A task the node still knows (Proxmox answers an unknown UPID as unparsable).
    fn task_of(&self, upid: &str) -> Result<&Task, PveError> {
        self.tasks.iter().find(|t| t.upid == upid).ok_or_else(|| PveError::param("upid", "unable to parse worker upid"))
    }

    pub(super) fn task_status(&self, upid: &str) -> Result<Value, PveError> {
        let task = self.task_of(upid)?;
        let user = upid.split(':').nth(7).unwrap_or_default();
        let mut status = json!({
            "upid": upid, "node": self.node, "pid": task.pid, "starttime": task.starttime,
            "type": task.kind, "id": task.id.to_string(), "user": user,
            "status": if task.done { "stopped" } else { "running" },
        });
        if task.done {
            status["exitstatus"] = json!(task.exit);
        }
        Ok(status)
    }

    /// The task's log as `GET …/tasks/{upid}/log` answers it: numbered lines, the last
    /// `TASK OK` or `TASK ERROR: <exit status>` once it stopped.
    pub(super) fn task_log(&self, upid: &str) -> Result<Value, PveError> {
        let task = self.task_of(upid)?;
        let mut lines = match task.kind.as_str() {
            "qmclone" => vec![format!("create full clone of drive scsi0 (local-lvm:base-{}-disk-0)", task.id)],
            "qmstart" => vec!["generating cloud-init ISO".to_owned()],
            _ => Vec::new(),
        };
        if task.done {
            lines.push(if task.exit == "OK" { "TASK OK".to_owned() } else { format!("TASK ERROR: {}", task.exit) });
        }
        Ok(lines.into_iter().enumerate().map(|(i, t)| json!({ "n": i + 1, "t": t })).collect())
    }

    pub(super) fn snapshot(&self) -> Vec<FakeVm> {
        let node = &self.node;
        self.vms
            .iter()
            .map(|(&vmid, g)| FakeVm { vmid, node: node.clone(), running: g.running, config: g.config.clone() })
            .collect()
    }
}
