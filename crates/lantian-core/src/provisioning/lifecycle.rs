//! The lifecycle task (`provisioning.lifecycle`): renewal invoices, expiry reminders,
//! suspension of overdue services and their termination after the grace period.
//!
//! Days are counted in China Standard Time: a service that expires on the 10th with
//! `suspend_after_days = 1` is suspended from the 11th at 00:00 (UTC+8). Each of the four steps
//! runs on its own, in batches of [`BATCH`] services per transaction, so a failure rolls back
//! only its batch and the other steps still run; the periodic lease runs it on one instance.
//! Suspending and terminating only change what a service should be (and enqueue its job): the
//! upstream calls happen in the `provision` job, which re-checks payment before it deletes.

use std::time::Duration;

use async_trait::async_trait;

use super::job::enqueue_all;
use super::repo::lifecycle as repo;
use crate::authz::Subject;
use crate::billing::{self, Prices};
use crate::config::{LifecycleConfig, REMINDER_DAYS};
use crate::jobs::{Periodic, PeriodicTask};
use crate::notify::{self, Event};
use crate::{Core, Error, Result, UnixMs};

/// Services per transaction.
const BATCH: i64 = 500;

pub fn task() -> PeriodicTask {
    PeriodicTask::new("provisioning.lifecycle", Duration::from_secs(600), Lifecycle)
}

pub struct Lifecycle;

#[async_trait]
impl Periodic for Lifecycle {
    async fn run(&self, core: &Core) -> Result<()> {
        let report = run(core, core.now()).await;
        tracing::info!(?report, "lifecycle run");
        match report.failed.first() {
            Some(step) => Err(Error::Internal(anyhow::anyhow!("lifecycle step {step} failed"))),
            None => Ok(()),
        }
    }
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub renewal_invoices: usize,
    pub reminders: usize,
    pub suspended: usize,
    pub terminated: usize,
    /// The steps that failed (each logged with its error); the others ran.
    pub failed: Vec<&'static str>,
}

/// One run of the four steps at `now`.
pub async fn run(core: &Core, now: UnixMs) -> Report {
    let mut report = Report::default();
    let lc = core.config.lifecycle.clone();
    match renewal_invoices(core, &lc, now).await {
        Ok(n) => report.renewal_invoices = n,
        Err(e) => report.failed.push(step_failed("renewal_invoices", &e)),
    }
    match reminders(core, now).await {
        Ok(n) => report.reminders = n,
        Err(e) => report.failed.push(step_failed("reminders", &e)),
    }
    match overdue(core, cutoff(now, lc.suspend_after_days), "suspended", now).await {
        Ok(n) => report.suspended = n,
        Err(e) => report.failed.push(step_failed("suspend", &e)),
    }
    match overdue(core, cutoff(now, lc.terminate_after_days), "terminated", now).await {
        Ok(n) => report.terminated = n,
        Err(e) => report.failed.push(step_failed("terminate", &e)),
    }
    report
}

fn step_failed(step: &'static str, e: &Error) -> &'static str {
    tracing::error!(step, error = %e, "lifecycle step failed");
    step
}

/// Days from the expiry's calendar day to today's (China Standard Time): 0 on the day itself.
pub(crate) fn days_overdue(expires_at: UnixMs, now: UnixMs) -> i64 {
    now.china_day() - expires_at.china_day()
}

/// What a service expiring at `expires_at` should be at `now`, by the configured periods.
pub(crate) fn due_state(expires_at: UnixMs, now: UnixMs, lc: &LifecycleConfig) -> &'static str {
    if expires_at > now {
        return "active";
    }
    let days = days_overdue(expires_at, now);
    if days >= i64::from(lc.terminate_after_days) {
        "terminated"
    } else if days >= i64::from(lc.suspend_after_days) {
        "suspended"
    } else {
        "active"
    }
}

/// Services that expired before this instant are `days` or more days overdue (and expired).
fn cutoff(now: UnixMs, days: u32) -> UnixMs {
    let day_after = UnixMs::start_of_china_day(now.china_day() - i64::from(days) + 1);
    day_after.min(UnixMs(now.0 + 1))
}

/// `from` plus `months` calendar months in China Standard Time (jiff's rule: Jan 31 + 1 month
/// is the last day of February).
pub(crate) fn add_months(from: UnixMs, months: i64) -> Result<UnixMs> {
    use jiff::ToSpan;
    let until = from.in_china().checked_add(months.months()).map_err(|e| Error::Internal(e.into()))?;
    Ok(UnixMs(until.timestamp().as_millisecond()))
}

/// Issues the renewal invoice of every live service within `invoice_days_before` days of
/// expiry that has none unpaid.
async fn renewal_invoices(core: &Core, lc: &LifecycleConfig, now: UnixMs) -> Result<usize> {
    let before = UnixMs::start_of_china_day(now.china_day() + i64::from(lc.invoice_days_before) + 1);
    let prices = Prices::load(core).await?;
    let (mut issued, mut after) = (0, 0);
    loop {
        let due = repo::due_renewals(&core.db, before, after, BATCH).await?;
        let Some(last) = due.last() else { return Ok(issued) };
        after = last.service_id;
        let mut tx = core.db.begin().await?;
        let done = billing::issue_renewals(&mut tx, core, &prices, &due, now).await?;
        tx.commit().await?;
        issued += done.issued.len();
        for service in done.unpriced {
            // Staff see it in the queue's report.
            tracing::warn!(service, "no renewal price");
        }
    }
}

/// Reminds customers 7, 3 and 1 days before expiry (service class: e-mail, in-site, and SMS
/// when they consented), each once per expiry.
async fn reminders(core: &Core, now: UnixMs) -> Result<usize> {
    let today = now.china_day();
    let farthest = i64::from(REMINDER_DAYS[0]);
    let before = UnixMs::start_of_china_day(today + farthest + 1);
    let (mut sent, mut after) = (0, 0);
    loop {
        let rows = repo::expiring(&core.db, now, before, after, BATCH).await?;
        let Some(last) = rows.last() else { return Ok(sent) };
        after = last.id;
        let mut tx = core.db.begin().await?;
        for threshold in REMINDER_DAYS.map(i64::from) {
            let due: Vec<&repo::Expiring> = rows.iter().filter(|s| reminder_due(s, today) == Some(threshold)).collect();
            let ids: Vec<i64> = due.iter().map(|s| s.id).collect();
            let marked = repo::mark_reminded(&mut tx, &ids, threshold).await?;
            let notices = due
                .iter()
                .filter(|s| marked.contains(&s.id))
                .map(|s| {
                    let args: notify::Args = [
                        ("service".to_string(), super::job::server_name(s.id)),
                        ("days".to_string(), (s.expires_at.china_day() - today).to_string()),
                    ]
                    .into();
                    (Subject::customer(s.customer_id), args)
                })
                .collect::<Vec<_>>();
            sent += notices.len();
            notify::notify_all(&mut tx, core, Event::ServiceExpiring, notices, now).await?;
        }
        tx.commit().await?;
    }
}

/// The reminder (7, 3 or 1 days) the service is due, if it has not had that one or a nearer one.
fn reminder_due(s: &repo::Expiring, today: i64) -> Option<i64> {
    let days_left = s.expires_at.china_day() - today;
    let threshold = REMINDER_DAYS.iter().rev().map(|d| i64::from(*d)).find(|d| days_left <= *d)?;
    s.reminded_days.is_none_or(|r| r > threshold).then_some(threshold)
}

/// Services that expired before `before`: they should now be `to` (`suspended` or
/// `terminated`), each with its job.
async fn overdue(core: &Core, before: UnixMs, to: &str, now: UnixMs) -> Result<usize> {
    let mut marked = 0;
    loop {
        let mut tx = core.db.begin().await?;
        let rows = repo::mark_overdue(&mut tx, before, to, BATCH).await?;
        enqueue_all(&mut tx, core, &rows, now).await?;
        tx.commit().await?;
        marked += rows.len();
        if rows.len() < BATCH as usize {
            return Ok(marked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LC: LifecycleConfig =
        LifecycleConfig { invoice_days_before: 7, suspend_after_days: 1, terminate_after_days: 7 };

    /// 2026-03-10T15:00+08:00.
    const EXPIRY: UnixMs = UnixMs(1_773_126_000_000);
    const HOUR: i64 = 3_600_000;

    #[test]
    fn overdue_days_turn_at_midnight_in_china() {
        assert_eq!(due_state(EXPIRY, UnixMs(EXPIRY.0 - 1), &LC), "active");
        // The same evening: expired, not a day overdue.
        assert_eq!(due_state(EXPIRY, UnixMs(EXPIRY.0 + 8 * HOUR), &LC), "active");
        // 00:00 on the 11th.
        assert_eq!(due_state(EXPIRY, UnixMs(EXPIRY.0 + 9 * HOUR), &LC), "suspended");
        assert_eq!(due_state(EXPIRY, UnixMs(EXPIRY.0 + 9 * HOUR + 6 * 24 * HOUR - 1), &LC), "suspended");
        assert_eq!(due_state(EXPIRY, UnixMs(EXPIRY.0 + 9 * HOUR + 6 * 24 * HOUR), &LC), "terminated");
    }

    #[test]
    fn the_cutoffs_agree_with_due_state() {
        for hours in [-1, 0, 8, 9, 10, 24 * 6 + 9, 24 * 7] {
            let now = UnixMs(EXPIRY.0 + hours * HOUR);
            let suspend = EXPIRY < cutoff(now, LC.suspend_after_days);
            let terminate = EXPIRY < cutoff(now, LC.terminate_after_days);
            let due = due_state(EXPIRY, now, &LC);
            assert_eq!(suspend, due != "active", "{hours} h");
            assert_eq!(terminate, due == "terminated", "{hours} h");
        }
        // Suspension on the day of expiry, but never before the expiry itself.
        let now = UnixMs(EXPIRY.0 - 1);
        assert!(EXPIRY >= cutoff(now, 0));
        assert!(EXPIRY < cutoff(EXPIRY, 0));
    }

    #[test]
    fn months_are_calendar_months_in_china() {
        // 2026-01-31T12:00+08:00 + 1 month = 2026-02-28T12:00+08:00.
        let jan31 = UnixMs(1_769_832_000_000);
        assert_eq!(add_months(jan31, 1).unwrap(), UnixMs(1_772_251_200_000));
        assert_eq!(add_months(jan31, 12).unwrap(), UnixMs(jan31.0 + 365 * 86_400_000));
    }
}
