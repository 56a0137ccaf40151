//! Reconciliation (`payments.reconcile`, every five minutes): asks the gateway about payments
//! started but never confirmed (a notification lost, or never sent), and finishes callbacks
//! that were recorded but not applied (the process died, the database failed). Whatever it
//! finds goes through the same claim-and-apply path as a notification, so a late notification
//! racing it still pays the invoice once.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::callbacks::{process, record_query_result};
use super::gateway::Notification;
use super::repo;
use crate::jobs::{Periodic, PeriodicTask};
use crate::{Core, Result, UnixMs, money};

/// A payment younger than this is left to its notification.
const GRACE: Duration = Duration::from_secs(120);
/// Payments older than this are no longer asked about.
const HORIZON: Duration = Duration::from_secs(3 * 86_400);

pub struct Reconcile;

pub fn task() -> PeriodicTask {
    PeriodicTask::new("payments.reconcile", Duration::from_secs(300), Reconcile)
}

#[async_trait]
impl Periodic for Reconcile {
    async fn run(&self, core: &Core) -> Result<()> {
        reconcile(core, core.now()).await.map(|_| ())
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Payments the gateway reported paid.
    pub found_paid: usize,
    /// Recorded callbacks applied now.
    pub resumed: usize,
}

pub async fn reconcile(core: &Core, now: UnixMs) -> Result<Reconciled> {
    let mut done = Reconciled::default();
    if let Some(gateway) = core.payments.clone() {
        for p in repo::unpaid_started(&core.db, now.minus(HORIZON), now.minus(GRACE), 200).await? {
            match gateway.query(&p.out_trade_no, now).await {
                Ok(Some(status)) if status.paid => {
                    let n = Notification {
                        trade_no: status.trade_no,
                        out_trade_no: status.out_trade_no,
                        amount_fen: status.amount_fen,
                        success: true,
                        channel: None,
                    };
                    record_query_result(core, &n, now).await?;
                    done.found_paid += 1;
                }
                Ok(_) => {}
                // The gateway's trouble must not stop the rest of the run.
                Err(e) => tracing::warn!(payment = p.id, error = %e, "payment query failed"),
            }
        }
    }
    for cb in repo::unfinished_callbacks(&core.db, now.minus(Duration::from_secs(60)), 200).await? {
        let Some(n) = stored_notification(&cb.fields) else { continue };
        process(core, cb.id, &n, now).await?;
        done.resumed += 1;
    }
    Ok(done)
}

/// A callback's kept fields back into a notification (they were verified when received).
fn stored_notification(fields: &str) -> Option<Notification> {
    let f: BTreeMap<String, String> = serde_json::from_str(fields).ok()?;
    Some(Notification {
        trade_no: f.get("trade_no")?.clone(),
        out_trade_no: f.get("out_trade_no")?.clone(),
        amount_fen: money::parse_yuan(f.get("money")?)?,
        success: f.get("trade_status").is_some_and(|s| s == "TRADE_SUCCESS"),
        channel: None,
    })
}
