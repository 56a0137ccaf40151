//! A host at the upstream: listing, reading, finding ours, power, suspend, terminate and
//! polling.
//!
//! Changes read the state first and skip what is already done: ZJMF refuses to suspend a
//! suspended host or start a running server, and the trait wants every change safe to repeat.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Effect, int};
use super::create::{key_of, stamp};
use super::{Zjmf, op};
use crate::provisioning::provider::{OpState, Power, PowerAction, Progress, ProvError, RemoteServer, Status};

/// What we read of a host (`GET /console/v1/host/{id}`).
pub(super) struct Host {
    /// `Unpaid`, `Pending`, `Active`, `Suspended`, `Deleted`, `Failed`.
    pub status: String,
    pub suspend_reason: String,
}

/// ZJMF's page size limit.
const PAGE: i64 = 50;

/// The refund plugin's states of a stop request that is still under way.
const STOP_UNDER_WAY: [&str; 3] = ["Pending", "Suspending", "Suspend"];

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A host of the list as a server; `None` once it is gone (`Deleted`, `Cancelled`: the list
/// keeps showing them) or without an id.
fn listed(host: &Value) -> Option<RemoteServer> {
    if matches!(text(host, "status").as_str(), "Deleted" | "Cancelled") {
        return None;
    }
    let notes = text(host, "client_notes");
    Some(RemoteServer {
        remote_id: host.get("id").and_then(int)?.to_string(),
        node: None,
        name: text(host, "name"),
        key: key_of(&notes).map(String::from),
    })
}

impl Zjmf {
    /// The host; one that does not exist (or no longer: `Deleted`) is [`ProvError::NotFound`].
    pub(super) async fn host(&self, id: i64) -> Result<Host, ProvError> {
        let data = self.api.get(&format!("/console/v1/host/{id}"), &[]).await?;
        // ZJMF answers an empty host, not an error, for one of another account.
        let host = data.get("host").filter(|h| h.get("id").is_some());
        let host = host.ok_or_else(|| ProvError::NotFound(format!("host {id}")))?;
        let host = Host { status: text(host, "status"), suspend_reason: text(host, "suspend_reason") };
        if host.status == "Deleted" {
            return Err(ProvError::NotFound(format!("host {id} is deleted")));
        }
        Ok(host)
    }

    /// The main address first, then the others.
    pub(super) async fn ips(&self, id: i64) -> Result<Vec<String>, ProvError> {
        let data = self.api.get(&format!("/console/v1/host/{id}/ip"), &[]).await?;
        let listed = [text(&data, "dedicate_ip"), text(&data, "assign_ip")];
        Ok(listed
            .iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect())
    }

    pub(super) async fn order_status(&self, order: i64) -> Result<String, ProvError> {
        let data = self.api.get(&format!("/console/v1/order/{order}"), &[]).await?;
        data.pointer("/order/status")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| ProvError::NotFound(format!("order {order}")))
    }

    /// The host whose client notes carry `key`, through the pages of the account's hosts.
    pub(super) async fn find_stamped(&self, key: &str) -> Result<Option<i64>, ProvError> {
        let wanted = stamp(key);
        for page in 1.. {
            let (list, more) = self.host_page(page).await?;
            let found = list.iter().find(|h| text(h, "client_notes") == wanted && text(h, "status") != "Deleted");
            if let Some(id) = found.and_then(|h| h.get("id")).and_then(int) {
                return Ok(Some(id));
            }
            if !more {
                break;
            }
        }
        Ok(None)
    }

    /// Every host of the account that is not gone, through every page.
    pub(super) async fn list_hosts(&self) -> Result<Vec<RemoteServer>, ProvError> {
        let mut servers = Vec::new();
        // Should the upstream page newest first after all, a host bought meanwhile pushes one
        // already read onto the next page: count it once.
        let mut seen = HashSet::new();
        for page in 1.. {
            let (list, more) = self.host_page(page).await?;
            servers.extend(list.iter().filter_map(listed).filter(|s| seen.insert(s.remote_id.clone())));
            if !more {
                break;
            }
        }
        Ok(servers)
    }

    /// One page (from 1) of the account's hosts, and whether another follows. Asked oldest
    /// first, so a host bought meanwhile lands on the last page instead of shifting the pages
    /// not yet read (the default order is not documented).
    async fn host_page(&self, page: i64) -> Result<(Vec<Value>, bool), ProvError> {
        let query =
            [("page", page.to_string()), ("limit", PAGE.to_string()), ("orderby", "id".into()), ("sort", "asc".into())];
        let mut data = self.api.get("/console/v1/host", &query).await?;
        // An answer without its list would make every service look missing.
        let Some(Value::Array(list)) = data.get_mut("list").map(Value::take) else {
            return Err(ProvError::Invalid("/console/v1/host: an answer without a list".into()));
        };
        let count = data.get("count").and_then(int).unwrap_or(0);
        let more = !list.is_empty() && page * PAGE < count;
        Ok((list, more))
    }

    pub(super) async fn status_of(&self, id: i64) -> Result<Status, ProvError> {
        let host = self.host(id).await?;
        let ips = self.ips(id).await?;
        // The power calls exist once the server does.
        let power = match host.status.as_str() {
            "Active" | "Suspended" => self.power_state(id).await?,
            _ => String::new(),
        };
        Ok(Status {
            power: match power.as_str() {
                "on" => Power::Running,
                "off" | "suspend" => Power::Stopped,
                _ => Power::Unknown,
            },
            ips,
            locked: power == "operating",
            suspended: host.status == "Suspended",
        })
    }

    /// The 魔方云 module's state: `on`, `off`, `suspend`, `operating`, `fault`.
    async fn power_state(&self, id: i64) -> Result<String, ProvError> {
        let data = self.api.get(&format!("/console/v1/mf_cloud/{id}/status"), &[]).await?;
        Ok(text(&data, "status"))
    }

    pub(super) async fn power_action(&self, id: i64, action: PowerAction) -> Result<Progress, ProvError> {
        let state = self.power_state(id).await?;
        let call = match (action, state.as_str()) {
            (PowerAction::Start, "on") | (PowerAction::Shutdown | PowerAction::Stop, "off") => {
                return Ok(Progress::Done);
            }
            (PowerAction::Start, _) => "on",
            (PowerAction::Shutdown, _) => "off",
            (PowerAction::Stop, _) => "hard_off",
            // The module refuses to reboot a stopped server; what is wanted is a running one.
            (PowerAction::Reboot, "off") => "on",
            (PowerAction::Reboot, _) => "reboot",
        };
        let path = format!("/console/v1/mf_cloud/{id}/{call}");
        self.api.send(Method::POST, &path, json!({}), Effect::Repeatable).await?.data()?;
        Ok(Progress::Done)
    }

    pub(super) async fn suspend_host(&self, id: i64) -> Result<Progress, ProvError> {
        if self.host(id).await?.status != "Suspended" {
            // `downstream`: a reseller's suspension, as ZJMF's own resellers send it.
            let why = json!({ "suspend_type": "downstream", "suspend_reason": "下游暂停 suspended by the reseller" });
            let path = format!("/console/v1/host/{id}/module/suspend");
            self.api.send(Method::POST, &path, why, Effect::Repeatable).await?.data()?;
        }
        Ok(Progress::Done)
    }

    pub(super) async fn unsuspend_host(&self, id: i64) -> Result<Progress, ProvError> {
        if self.host(id).await?.status != "Active" {
            let path = format!("/console/v1/host/{id}/module/unsuspend");
            self.api.send(Method::POST, &path, json!({}), Effect::Repeatable).await?.data()?;
        }
        Ok(Progress::Done)
    }

    /// Asks the refund plugin to stop the host now (`Immediate`). The upstream's staff may have
    /// to approve it: until the host is deleted, the answer is an operation to poll.
    pub(super) async fn terminate_host(&self, id: i64) -> Result<Progress, ProvError> {
        match self.host(id).await {
            Err(ProvError::NotFound(_)) => return Ok(Progress::Done),
            other => other?,
        };
        if !STOP_UNDER_WAY.contains(&self.stop_request(id).await?.as_str()) {
            let stop =
                json!({ "host_id": id, "type": "Immediate", "suspend_reason": "下游删除 terminated by the reseller" });
            match self.api.send(Method::POST, "/console/v1/refund", stop, Effect::Repeatable).await?.data() {
                Err(ProvError::NotFound(_)) => return Ok(Progress::Done),
                other => other?,
            };
        }
        match self.host(id).await {
            Err(ProvError::NotFound(_)) => Ok(Progress::Done),
            Err(e) => Err(e),
            Ok(_) => Ok(Progress::Pending { op: op("host", id), poll_after: self.poll_after }),
        }
    }

    /// The state of the host's stop request; empty when it has none.
    async fn stop_request(&self, id: i64) -> Result<String, ProvError> {
        let data = self.api.get(&format!("/console/v1/refund/host/{id}/refund"), &[]).await?;
        Ok(data.get("refund").map(|r| text(r, "status")).unwrap_or_default())
    }

    pub(super) async fn poll_order(&self, order: i64) -> Result<OpState, ProvError> {
        Ok(match self.order_status(order).await?.as_str() {
            "Paid" => OpState::Succeeded,
            "Unpaid" => OpState::Running,
            other => OpState::failed(format!("order {order} is {other}")),
        })
    }

    /// A host being stopped: done once it is gone; failed when the upstream's staff refused.
    pub(super) async fn poll_stop(&self, id: i64) -> Result<OpState, ProvError> {
        match self.host(id).await {
            Err(ProvError::NotFound(_)) => return Ok(OpState::Succeeded),
            other => other?,
        };
        Ok(match self.stop_request(id).await?.as_str() {
            "Reject" | "Cancelled" => OpState::failed(format!("the upstream refused to stop host {id}")),
            _ => OpState::Running,
        })
    }
}
