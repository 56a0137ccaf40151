//! The delivery jobs behind the notifier: one e-mail or one SMS each, rendered and addressed
//! when sent, so a changed address or a withdrawn consent is respected.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::{Delivery, DeliveryError, Event, OutgoingMail, contacts};
use crate::consents::{self, Purpose};
use crate::disclosures::{self, Disclosure, Recipient};
use crate::i18n::Tr;
use crate::jobs::{ClaimedJob, JobError, JobHandler, JobOutcome};
use crate::ratelimit::{self, Decision};
use crate::{Core, Result};

pub const EMAIL: &str = "notify.email";
pub const SMS: &str = "notify.sms";

fn parse(job: &ClaimedJob) -> Result<Delivery, JobError> {
    serde_json::from_str(&job.payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))
}

fn failed(e: DeliveryError) -> JobError {
    match e {
        DeliveryError::Temporary(m) => JobError::Retry(m),
        DeliveryError::Permanent(m) => JobError::Permanent(m),
    }
}

pub struct SendEmail;

#[async_trait]
impl JobHandler for SendEmail {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let d = parse(job)?;
        let subject = d.subject;
        let Some(contact) = contacts::of(core, subject).await? else { return Ok(JobOutcome::Done) };
        let Some(to) = contact.email else { return Ok(JobOutcome::Done) };
        let tr = Tr::new(contact.lang);
        let key = d.event.key();
        let mail = OutgoingMail {
            to,
            subject: format!("{} {}", tr.t("mail-subject-prefix"), tr.t_args(&format!("notice-{key}-title"), &d.args)),
            text: format!("{}\n\n{}", tr.t_args(&format!("notice-{key}-body"), &d.args), tr.t("mail-footer")),
        };
        core.mailer.send(&mail).await.map_err(failed)?;
        if !core.config.mail.is_local() {
            let mut tx = core.db.begin().await?;
            let d = Disclosure {
                recipient: Recipient::SmtpRelay,
                recipient_name: &core.config.mail.relay_name,
                fields: &["email", "notice"],
                purpose: "notification",
                object: ("job", job.id.to_string()),
            };
            disclosures::disclose(&mut tx, subject, d, core.now()).await?;
            tx.commit().await?;
        }
        Ok(JobOutcome::Done)
    }
}

/// The approved template of an event and its parameters (strings, as the vendor requires).
fn sms_template(core: &Core, d: &Delivery) -> Option<(String, BTreeMap<String, String>)> {
    let cfg = &core.config.sms;
    let mut params = BTreeMap::new();
    let code = match d.event {
        Event::ServiceExpiring => {
            for k in ["service", "days"] {
                params.insert(k.to_string(), d.args.get(k).cloned().unwrap_or_default());
            }
            &cfg.template_service_expiry
        }
        Event::NewDeviceSignIn => {
            params.insert("event".into(), "新设备登录".into());
            &cfg.template_security_alert
        }
        Event::AccountLocked => {
            params.insert("event".into(), "账户已锁定".into());
            &cfg.template_security_alert
        }
        Event::RememberTokenReused => {
            params.insert("event".into(), "登录凭证异常".into());
            &cfg.template_security_alert
        }
        Event::PasswordChanged
        | Event::TwoFactorEnabled
        | Event::InvoicePaid
        | Event::PaymentRefused
        | Event::ServiceActive
        | Event::ServiceSuspended
        | Event::ServiceResumed
        | Event::ServiceTerminated
        | Event::ServiceNeedsAttention
        | Event::UpstreamsDiffer => return None,
    };
    (!code.is_empty()).then(|| (code.clone(), params))
}

pub struct SendSms;

#[async_trait]
impl JobHandler for SendSms {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let d = parse(job)?;
        let Some(sender) = core.sms.clone() else { return Err(JobError::Permanent("SMS is switched off".into())) };
        // Checked again now: a consent withdrawn after the notice was queued stops it.
        if consents::current(&core.db, d.subject, Purpose::SmsNotices).await?.is_none() {
            tracing::info!(job = job.id, "SMS skipped: no standing sms_notices consent");
            return Ok(JobOutcome::Done);
        }
        let Some(phone) = contacts::of(core, d.subject).await?.and_then(|c| c.phone) else {
            return Ok(JobOutcome::Done);
        };
        let Some((template, params)) = sms_template(core, &d) else {
            return Err(JobError::Permanent(format!("no SMS template configured for {}", d.event.key())));
        };
        if !within_limits(core, &phone).await? {
            tracing::warn!(job = job.id, "SMS skipped: per-number limit reached");
            return Ok(JobOutcome::Done);
        }
        sender.send(&phone, &template, &params).await.map_err(failed)?;
        let mut tx = core.db.begin().await?;
        let disclosure = Disclosure {
            recipient: Recipient::SmsVendor,
            recipient_name: sender.vendor(),
            fields: &["phone"],
            purpose: "sms_notice",
            object: ("job", job.id.to_string()),
        };
        disclosures::disclose(&mut tx, d.subject, disclosure, core.now()).await?;
        tx.commit().await?;
        Ok(JobOutcome::Done)
    }
}

/// Per-number hourly and daily caps; the key is a blind index, so no phone number is stored
/// in the counters.
async fn within_limits(core: &Core, phone: &str) -> Result<bool> {
    let who = core.keys.blind_index("sms_number", phone);
    let now = core.now();
    let cfg = &core.config.sms;
    for (window, limit, name) in [
        (Duration::from_secs(3600), cfg.per_number_per_hour, "hour"),
        (Duration::from_secs(86_400), cfg.per_number_per_day, "day"),
    ] {
        if let Decision::RetryAfter(_) =
            ratelimit::hit(&core.db, &format!("sms:{name}:{who}"), window, limit, now).await?
        {
            return Ok(false);
        }
    }
    Ok(true)
}
