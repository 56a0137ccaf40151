//! The reconciler (research §4.3.6): compares what each upstream holds with our services and
//! reports the servers no service of ours accounts for and the services whose server is gone.
//! It never deletes or changes anything: a server we do not know may be a create that lost
//! track of its server, a customer's data, or staff's own work, and only staff can tell which.
//! `provisioning.reconcile` runs it daily and tells the staff who manage services what it found.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::time::Duration;

use async_trait::async_trait;

use super::provider::{Checkpoint, ProvError, RemoteServer};
use super::repo::reconcile::{self as repo, LiveService};
use crate::authz::{Permission, Principal, Subject};
use crate::config::PROXMOX;
use crate::jobs::{Periodic, PeriodicTask};
use crate::notify::{self, Event};
use crate::{Core, Result};

/// What one run found, per configured upstream (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub upstreams: Vec<UpstreamReport>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamReport {
    pub upstream: String,
    /// Servers that no live service accounts for: made behind our back, left over by a create,
    /// or kept after their service was terminated.
    pub unknown: Vec<RemoteServer>,
    /// Active or suspended services whose server the upstream does not list.
    pub missing: Vec<MissingServer>,
    /// The listing failed, so nothing is known of this upstream this time.
    pub error: Option<ProvError>,
}

/// A service that should have a server at its upstream and has none there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingServer {
    pub service_id: i64,
    pub state: String,
    /// The server our records name; `None`: the service never recorded one.
    pub remote_id: Option<String>,
}

impl UpstreamReport {
    /// One line for staff, such as `pve-hk: 2 unknown, 1 missing`; `None` when all matches.
    pub fn summary(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("{}: the listing failed: {e}", self.upstream));
        }
        if self.unknown.is_empty() && self.missing.is_empty() {
            return None;
        }
        Some(format!("{}: {} unknown, {} missing", self.upstream, self.unknown.len(), self.missing.len()))
    }
}

/// The report, for staff who manage services.
pub async fn report(core: &Core, who: &Principal) -> Result<Report> {
    who.require(Permission::ServicesManage)?;
    scan(core).await
}

/// The report without a permission check, for the periodic task. Only reads: the upstreams'
/// listings and our records.
pub async fn scan(core: &Core) -> Result<Report> {
    let mut upstreams = Vec::new();
    for (name, provider) in core.upstreams.iter() {
        // The listing before our records: a Proxmox create reserves its vmid before it asks
        // for the clone, so any VM listed is already claimed in the records read afterwards.
        let report = match provider.list().await {
            Ok(listed) => {
                let services = repo::live_services(&core.db, name).await?;
                compare(name, &listed, &services, vmid_range(core, name))
            }
            // One upstream's failure leaves the others to be checked.
            Err(e) => {
                UpstreamReport { upstream: name.clone(), unknown: Vec::new(), missing: Vec::new(), error: Some(e) }
            }
        };
        upstreams.push(report);
    }
    Ok(Report { upstreams })
}

/// Where a Proxmox cluster's servers are ours to account for. A cluster also holds what staff
/// make by hand, and its listing shows those too; Lantian hands out vmids only from its
/// configured range, so a VM outside it is staff's own, unless it carries our name or key (then
/// it is one of ours, moved or copied, and reported). A reseller account holds nothing but
/// what we bought: every host counts (`None`).
fn vmid_range(core: &Core, upstream: &str) -> Option<RangeInclusive<u32>> {
    let u = core.config.provisioning.upstreams.iter().find(|u| u.name == upstream && u.kind == PROXMOX)?;
    Some(u.vmid_first..=u.vmid_last)
}

fn compare(
    upstream: &str,
    listed: &[RemoteServer],
    services: &[LiveService],
    range: Option<RangeInclusive<u32>>,
) -> UpstreamReport {
    // A service that has recorded its server (once active, in its create's checkpoint, or as
    // the vmid it holds) claims that server and no other, so a second server stamped for it is
    // reported. One that has recorded none yet claims the server carrying its key or name.
    let claimed: HashSet<String> = services.iter().flat_map(recorded).collect();
    let waiting: HashSet<i64> = services.iter().filter(|s| recorded(s).is_empty()).map(|s| s.id).collect();
    let ours = |server: &RemoteServer| match &range {
        None => true,
        Some(range) => {
            server.remote_id.parse().is_ok_and(|vmid| range.contains(&vmid)) || stamped_service(server).is_some()
        }
    };
    let unknown = listed
        .iter()
        .filter(|server| ours(server) && !claimed.contains(&server.remote_id))
        .filter(|server| !stamped_service(server).is_some_and(|id| waiting.contains(&id)))
        .cloned()
        .collect();
    let present: HashSet<&str> = listed.iter().map(|server| server.remote_id.as_str()).collect();
    let missing = services
        .iter()
        .filter(|s| matches!(s.state.as_str(), "active" | "suspended"))
        .filter(|s| !s.remote_id.as_deref().is_some_and(|id| present.contains(id)))
        .map(|s| MissingServer { service_id: s.id, state: s.state.clone(), remote_id: s.remote_id.clone() })
        .collect();
    UpstreamReport { upstream: upstream.to_owned(), unknown, missing, error: None }
}

/// The servers a service's records name.
fn recorded(s: &LiveService) -> Vec<String> {
    let checkpoint = s.checkpoint.as_deref().and_then(|json| serde_json::from_str::<Checkpoint>(json).ok());
    let from_checkpoint = checkpoint.and_then(|c| c.remote_id);
    [s.remote_id.clone(), from_checkpoint, s.held_vmid.map(|vmid| vmid.to_string())].into_iter().flatten().collect()
}

/// The service a server says it belongs to: its key `svc-<id>` as the create stamps it, else
/// its name `lc-<id>`.
fn stamped_service(server: &RemoteServer) -> Option<i64> {
    let key = server.key.as_deref().and_then(|key| key.strip_prefix("svc-"));
    key.or_else(|| server.name.strip_prefix("lc-"))?.parse().ok()
}

pub struct Reconcile;

/// Daily: a server nobody pays for costs by the day, and the listing is the heaviest read we
/// make of an upstream.
pub fn task() -> PeriodicTask {
    PeriodicTask::new("provisioning.reconcile", Duration::from_secs(86_400), Reconcile)
}

#[async_trait]
impl Periodic for Reconcile {
    async fn run(&self, core: &Core) -> Result<()> {
        let report = scan(core).await?;
        let found: Vec<String> = report.upstreams.iter().filter_map(UpstreamReport::summary).collect();
        if found.is_empty() {
            return Ok(());
        }
        let summary = found.join("; ");
        tracing::warn!(summary, "the upstreams do not match our services");
        tell_staff(core, &summary).await
    }
}

/// Tells every member of staff who manages services what the check found.
async fn tell_staff(core: &Core, summary: &str) -> Result<()> {
    let args: notify::Args = [("summary".to_string(), summary.to_string())].into();
    let now = core.now();
    let mut tx = core.db.begin().await?;
    for member in crate::staff::holders_of(&mut tx, Permission::ServicesManage).await? {
        notify::notify(&mut tx, core, Subject::staff(member), Event::UpstreamsDiffer, args.clone(), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(remote_id: &str, name: &str, key: Option<&str>) -> RemoteServer {
        RemoteServer { remote_id: remote_id.into(), node: None, name: name.into(), key: key.map(String::from) }
    }

    fn service(id: i64, state: &str, remote_id: Option<&str>) -> LiveService {
        LiveService {
            id,
            state: state.into(),
            remote_id: remote_id.map(String::from),
            checkpoint: None,
            held_vmid: None,
        }
    }

    fn ids(report: &UpstreamReport) -> (Vec<&str>, Vec<i64>) {
        let unknown = report.unknown.iter().map(|s| s.remote_id.as_str()).collect();
        (unknown, report.missing.iter().map(|m| m.service_id).collect())
    }

    #[test]
    fn proxmox_reports_our_range_and_our_names_only() {
        let listed = [
            server("10000", "lc-1", None),
            server("10001", "", None),
            server("10002", "lc-2", None),
            server("10003", "rogue", None),
            server("200", "db", None),
            server("300", "lc-9", None),
            server("301", "lc-x", None),
        ];
        let mut provisioning = service(2, "provisioning", None);
        provisioning.checkpoint = Some(r#"{"step":"wait_clone","remote_id":"10002","node":"pve","op":null}"#.into());
        let mut cloning = service(3, "provisioning", None);
        cloning.held_vmid = Some(10_001);
        let services =
            [service(1, "active", Some("10000")), provisioning, cloning, service(4, "suspended", Some("10004"))];
        let report = compare("pve-hk", &listed, &services, Some(10_000..=10_999));
        assert_eq!(ids(&report), (vec!["10003", "300"], vec![4]));
        assert_eq!(report.summary().as_deref(), Some("pve-hk: 2 unknown, 1 missing"));
    }

    #[test]
    fn a_key_claims_a_server_only_for_a_service_that_recorded_none() {
        let listed = [server("5001", "ser5001", Some("svc-7")), server("5002", "ser5002", Some("svc-8"))];
        // 7 has recorded nothing yet (its host was stamped before the checkpoint named it);
        // 8 is active on 5003, so 5002 is a second host made for it.
        let services = [service(7, "needs_attention", None), service(8, "active", Some("5003"))];
        let report = compare("zjmf-sh", &listed, &services, None);
        assert_eq!(ids(&report), (vec!["5002"], vec![8]));
    }

    #[test]
    fn a_terminated_service_s_server_is_unknown_and_all_matching_is_quiet() {
        let listed = [server("5001", "ser5001", Some("svc-7"))];
        let report = compare("zjmf-sh", &listed, &[], None);
        assert_eq!(ids(&report), (vec!["5001"], vec![]), "no live service: it should be gone");
        let clean = compare("zjmf-sh", &listed, &[service(7, "active", Some("5001"))], None);
        assert_eq!((ids(&clean), clean.summary()), ((vec![], vec![]), None));
        let failed = UpstreamReport {
            upstream: "pve-hk".into(),
            unknown: Vec::new(),
            missing: Vec::new(),
            error: Some(ProvError::Auth("HTTP 401".into())),
        };
        assert_eq!(
            failed.summary().unwrap(),
            "pve-hk: the listing failed: the upstream refused our credentials: HTTP 401"
        );
    }

    #[test]
    fn a_server_names_its_service_by_key_then_name() {
        assert_eq!(stamped_service(&server("1", "lc-5", Some("svc-6"))), Some(6));
        assert_eq!(stamped_service(&server("1", "lc-5", None)), Some(5));
        assert_eq!(stamped_service(&server("1", "lc-", Some("other"))), None);
    }
}
