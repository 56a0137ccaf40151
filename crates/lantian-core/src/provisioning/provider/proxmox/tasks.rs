//! Proxmox tasks: the UPID a mutating call answers, and polling it to its end (research §1.4).

use serde_json::Value;

use super::api::{self, Api, NONE};
use crate::provisioning::provider::{OpRef, OpState, ProvError};

/// The task a call started, from its answer: a UPID, or `null` when the call finished at once
/// (older Proxmox answers a resize that way).
pub(super) fn started(answer: Value) -> Result<Option<OpRef>, ProvError> {
    match answer {
        Value::Null => Ok(None),
        Value::String(upid) => {
            let node = node_of(&upid)?.to_string();
            Ok(Some(OpRef { id: upid, node: Some(node) }))
        }
        other => Err(ProvError::Invalid(format!("expected a task id (UPID), got {other}"))),
    }
}

/// `UPID:node:pid:pstart:starttime:type:id:user:`: the task lives on the node it names, which
/// is not always the node the call went to (a clone runs where its template is).
fn node_of(upid: &str) -> Result<&str, ProvError> {
    let mut parts = upid.split(':');
    match (parts.next(), parts.next()) {
        (Some("UPID"), Some(node)) if !node.is_empty() => Ok(node),
        _ => Err(ProvError::Invalid(format!("not a Proxmox task id: {upid:?}"))),
    }
}

/// Where the task stands. `OK` and `WARNINGS: n` are success; any other exit text is the error.
pub(super) async fn poll(api: &Api, op: &OpRef) -> Result<OpState, ProvError> {
    let node = node_of(&op.id)?;
    let path = format!("/nodes/{}/tasks/{}/status", api::encode(node), api::encode(&op.id));
    let task = api.get(&path, NONE).await?;
    if api::text(&task, "status").as_deref() == Some("running") {
        return Ok(OpState::Running);
    }
    let error = match api::text(&task, "exitstatus") {
        Some(exit) if exit == "OK" || exit.starts_with("WARNINGS") => return Ok(OpState::Succeeded),
        Some(exit) => exit,
        None => "the task stopped without an exit status".into(),
    };
    Ok(OpState::Failed { error, log: log_tail(api, node, &op.id).await })
}

/// Lines of a failed task's log staff read with its error (the end tells most).
const LOG_LINES: usize = 20;

/// The last [`LOG_LINES`] lines of the task's log; a log that cannot be read says so instead
/// (the error itself is what counts).
async fn log_tail(api: &Api, node: &str, upid: &str) -> Vec<String> {
    let path = format!("/nodes/{}/tasks/{}/log", api::encode(node), api::encode(upid));
    match api.get(&path, &[("start", "0"), ("limit", "5000")]).await {
        Ok(Value::Array(lines)) => {
            let lines: Vec<String> = lines.iter().filter_map(|l| api::text(l, "t")).collect();
            lines[lines.len().saturating_sub(LOG_LINES)..].to_vec()
        }
        Ok(other) => vec![format!("(the task log is not a list of lines: {other})")],
        Err(e) => vec![format!("(the task log could not be read: {e})")],
    }
}

/// A failed task worth doing again rather than reporting: a lock held by another task passes
/// with time, and "already running" means an earlier start we lost track of won. The step that
/// started the task checks the VM's state first, so doing it again is safe.
pub(super) fn worth_redoing(exit: &str) -> bool {
    let exit = exit.to_lowercase();
    exit.contains("is locked") || exit.contains("got timeout") || exit.contains("already running")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_node_from_the_upid() {
        let upid = "UPID:pve2:0000A1B2:0012C3D4:6650F00D:qmclone:9000:lantian@pve!provision:";
        let op = started(json!(upid)).unwrap().unwrap();
        assert_eq!((op.id.as_str(), op.node.as_deref()), (upid, Some("pve2")));
        assert_eq!(started(Value::Null).unwrap(), None);
        assert!(matches!(started(json!("OK")), Err(ProvError::Invalid(_))));
        assert!(matches!(started(json!(17)), Err(ProvError::Invalid(_))));
    }

    #[test]
    fn redoes_only_what_a_redo_can_fix() {
        assert!(worth_redoing("VM is locked (backup)"));
        assert!(worth_redoing("start failed: VM 101 already running"));
        assert!(!worth_redoing("clone failed: no space left on device"));
    }
}
