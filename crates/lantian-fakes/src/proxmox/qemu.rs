//! The `qemu` API of the fake: clone, config, resize, status, power and destroy, with the
//! locks and task outcomes of research §1.3/§1.5.

use serde_json::{Map, Value, json};

use super::cluster::{Cluster, Config, Ctx, Effect};
use super::reply::PveError;
use super::schema::{self, Params};

/// Config keys Proxmox answers as numbers.
const NUMERIC: [&str; 5] = ["cores", "sockets", "memory", "onboot", "template"];

/// Proxmox shows a stored password only as this mask.
const MASK: &str = "**********";

impl Cluster {
    /// `POST /nodes/{node}/qemu/{template}/clone`. The new VM exists at once with only
    /// `lock: clone`; its name, description and disks arrive when the task ends, and a failed
    /// clone removes it.
    pub(super) fn clone_vm(&mut self, ctx: &Ctx<'_>, template: u32, form: &Params) -> Result<Value, PveError> {
        let source = self.guest(template)?.config.clone();
        let newid = schema::integer(form, "newid", 100, 999_999_999)?;
        let newid =
            u32::try_from(newid.ok_or_else(|| PveError::param("newid", "property is missing and it is not optional"))?)
                .map_err(|_| PveError::param("newid", "value too large"))?;
        if let Some(name) = form.get("name").filter(|name| !schema::dns_name(name)) {
            return Err(PveError::param(
                "name",
                format!("invalid format - value '{name}' does not look like a valid DNS name"),
            ));
        }
        let full = schema::integer(form, "full", 0, 1)? == Some(1);
        if form.contains_key("storage") && !full {
            return Err(PveError::param("storage", "option is only allowed for full clones"));
        }
        if self.vms.contains_key(&newid) {
            return Err(PveError::internal(format!("unable to create VM {newid}: config file already exists")));
        }
        let mut config: Config = source.into_iter().filter(|(key, _)| key != "template").collect();
        for (key, value) in &mut config {
            if ["scsi", "virtio", "sata", "ide"].iter().any(|bus| key.starts_with(bus)) {
                *value = cloned_volume(value, template, newid, form.get("storage"));
            }
        }
        let mac = self.next_mac();
        if let Some(net0) = config.get_mut("net0") {
            let (card, rest) = net0.split_once(',').unwrap_or((net0.as_str(), ""));
            let model = card.split('=').next().unwrap_or("virtio");
            *net0 = format!("{model}={mac},{rest}").trim_end_matches(',').to_owned();
        }
        config.insert("name".into(), form.get("name").cloned().unwrap_or_else(|| format!("Copy-of-VM-{template}")));
        if let Some(description) = form.get("description") {
            config.insert("description".into(), description.clone());
        }
        self.insert(newid, Config::from([("lock".to_owned(), "clone".to_owned())]));
        Ok(self.task(ctx, "qmclone", template, Effect::Configure(newid, config), Effect::Remove(newid), None))
    }

    /// `GET …/config`: answers whatever lock holds the VM (it checks none).
    pub(super) fn config(&self, vmid: u32) -> Result<Value, PveError> {
        let guest = self.guest(vmid)?;
        let mut fields = Map::new();
        for (key, value) in &guest.config {
            let value = match value.parse::<u64>() {
                Ok(n) if NUMERIC.contains(&key.as_str()) => json!(n),
                _ => json!(value),
            };
            fields.insert(key.clone(), value);
        }
        fields.insert("digest".into(), json!(digest(&guest.config)));
        Ok(Value::Object(fields))
    }

    /// `PUT …/config`, synchronous: 500 while locked, 400 for a refused parameter.
    pub(super) fn set_config(&mut self, vmid: u32, form: &Params) -> Result<Value, PveError> {
        let guest = self.guest_mut(vmid)?;
        guest.unlocked()?;
        for (name, value) in form {
            schema::config_param(name, value)?;
        }
        for (name, value) in form {
            match name.as_str() {
                "delete" => value.split(',').for_each(|key| drop(guest.config.remove(key))),
                "digest" => {}
                "cipassword" => drop(guest.config.insert(name.clone(), MASK.into())),
                _ => drop(guest.config.insert(name.clone(), value.clone())),
            }
        }
        Ok(Value::Null)
    }

    /// `PUT …/resize` to `NG` or `+NG`: a UPID, as since PVE 8. Equal is a no-op, shrinking is
    /// refused, and a locked VM gets a task that fails.
    pub(super) fn resize(&mut self, ctx: &Ctx<'_>, vmid: u32, form: &Params) -> Result<Value, PveError> {
        let disk = schema::required(form, "disk")?;
        let size = schema::required(form, "size")?;
        let guest = self.guest(vmid)?;
        let lock = guest.lock().map(|lock| format!("VM is locked ({lock})"));
        let volume =
            guest.config.get(disk).ok_or_else(|| PveError::internal(format!("disk '{disk}' does not exist")))?;
        let current = disk_size(volume).unwrap_or(0);
        let wanted = match size.strip_prefix('+') {
            Some(more) => more.strip_suffix('G').and_then(|n| n.parse::<u64>().ok()).map(|n| current + n),
            None => size.strip_suffix('G').and_then(|n| n.parse().ok()),
        };
        let wanted = wanted.ok_or_else(|| PveError::param("size", "invalid format - expected [+]<n>G"))?;
        if wanted < current {
            return Err(PveError::internal("shrinking disks is not supported"));
        }
        if lock.is_none() {
            let resized = volume.replace(&format!("size={current}G"), &format!("size={wanted}G"));
            self.guest_mut(vmid)?.config.insert(disk.to_owned(), resized);
        }
        Ok(self.task(ctx, "resize", vmid, Effect::Nothing, Effect::Nothing, lock))
    }

    /// `GET …/status/current`.
    pub(super) fn current(&self, vmid: u32) -> Result<Value, PveError> {
        let guest = self.guest(vmid)?;
        let state = if guest.running { "running" } else { "stopped" };
        let mut status =
            json!({"vmid": vmid, "status": state, "qmpstatus": state, "uptime": 0, "cpus": 1, "maxmem": 0});
        for key in ["name", "lock", "tags"] {
            if let Some(value) = guest.config.get(key) {
                status[key] = json!(value);
            }
        }
        Ok(status)
    }

    /// `POST …/status/{action}`: start fails its task if the VM runs or is locked; stop of a
    /// stopped VM is OK; shutdown and reboot of a stopped one are refused at once.
    pub(super) fn power(&mut self, ctx: &Ctx<'_>, vmid: u32, action: &str) -> Result<Value, PveError> {
        let guest = self.guest(vmid)?;
        let (running, lock) = (guest.running, guest.lock().map(str::to_owned));
        if action == "start" {
            let failure = if running {
                Some(format!("VM {vmid} already running"))
            } else {
                lock.map(|l| format!("VM is locked ({l})"))
            };
            return Ok(self.task(ctx, "qmstart", vmid, Effect::Power(vmid, true), Effect::Nothing, failure));
        }
        if !matches!(action, "stop" | "shutdown" | "reboot") {
            let path = format!("/nodes/{}/qemu/{vmid}/status/{action}", self.node);
            return Err(PveError::new(501, format!("Method 'POST {path}' not implemented")));
        }
        if let Some(lock) = lock {
            return Err(PveError::locked(&lock));
        }
        if action != "stop" && !running {
            return Err(PveError::internal(format!("VM {vmid} not running")));
        }
        let (kind, effect) = match action {
            "stop" => ("qmstop", Effect::Power(vmid, false)),
            "shutdown" => ("qmshutdown", Effect::Power(vmid, false)),
            _ => ("qmreboot", Effect::Nothing),
        };
        Ok(self.task(ctx, kind, vmid, effect, Effect::Nothing, None))
    }

    /// `DELETE …/qemu/{vmid}`: only a stopped, unlocked VM; it is gone when the task ends.
    pub(super) fn destroy(&mut self, ctx: &Ctx<'_>, vmid: u32) -> Result<Value, PveError> {
        let guest = self.guest(vmid)?;
        if guest.running {
            return Err(PveError::internal(format!("VM {vmid} is running - destroy failed")));
        }
        guest.unlocked()?;
        Ok(self.task(ctx, "qmdestroy", vmid, Effect::Remove(vmid), Effect::Nothing, None))
    }

    /// `GET /cluster/resources?type=vm` rows, or `GET /nodes/{node}/qemu` with `node: false`.
    pub(super) fn list(&self, with_node: bool) -> Value {
        let rows = self.vms.iter().map(|(&vmid, guest)| {
            let mut row = json!({
                "vmid": vmid, "status": if guest.running { "running" } else { "stopped" },
                "template": u8::from(guest.config.contains_key("template")),
            });
            if with_node {
                row["id"] = json!(format!("qemu/{vmid}"));
                row["type"] = json!("qemu");
                row["node"] = json!(self.node);
            }
            for key in ["name", "lock", "tags"] {
                if let Some(value) = guest.config.get(key) {
                    row[key] = json!(value);
                }
            }
            row
        });
        Value::Array(rows.collect())
    }
}

/// A template's volume for the clone: `base-9000-disk-0` becomes `vm-101-disk-0`, on `storage`.
fn cloned_volume(volume: &str, template: u32, newid: u32, storage: Option<&String>) -> String {
    let renamed = volume
        .replace(&format!("base-{template}-"), &format!("vm-{newid}-"))
        .replace(&format!("vm-{template}-"), &format!("vm-{newid}-"));
    match (storage, renamed.split_once(':')) {
        (Some(storage), Some((_, rest))) => format!("{storage}:{rest}"),
        _ => renamed,
    }
}

/// `size=NG` in a volume string.
fn disk_size(volume: &str) -> Option<u64> {
    volume.split(',').find_map(|part| part.strip_prefix("size=")?.strip_suffix('G')?.parse().ok())
}

/// Changes whenever the config does, as Proxmox's SHA-1 does.
fn digest(config: &Config) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    config.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /cluster/resources?type=vm` rows: ids as Proxmox sends them, the node, and the
    /// template flag a client must skip.
    #[test]
    fn lists_every_vm_with_its_node_and_template_flag() {
        let mut cluster = Cluster::new("pve", &[9000], 50);
        cluster
            .insert(101, Config::from([("name".to_owned(), "lc-7".to_owned()), ("tags".to_owned(), "a;b".to_owned())]));
        cluster.insert(102, Config::from([("lock".to_owned(), "clone".to_owned())]));
        let rows = cluster.list(true);
        assert_eq!(rows.as_array().map(Vec::len), Some(3), "by vmid: 101, 102, 9000");
        assert_eq!(
            rows[0],
            json!({"id": "qemu/101", "type": "qemu", "vmid": 101, "node": "pve", "name": "lc-7",
                   "status": "stopped", "template": 0, "tags": "a;b"})
        );
        assert_eq!((rows[1].get("name"), &rows[1]["lock"]), (None, &json!("clone")), "a clone in flight");
        assert_eq!((&rows[2]["vmid"], &rows[2]["template"]), (&json!(9000), &json!(1)));
        assert_eq!(cluster.list(false)[0].get("node"), None, "a node's own list names no node");
    }
}
