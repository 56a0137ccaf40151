//! The notifier: `notify(subject, event, args)` inside the caller's transaction picks the
//! channels from the event's class, the subject's preferences and consents, and enqueues the
//! deliveries (jobs) or writes the in-site notice. Security and legal notices always go by
//! e-mail. SMS goes only to a phone the subject gave, only for security and service-expiry
//! events, only while the `sms_notices` consent stands (checked again when it is sent), and
//! carries only the vendor's approved template code and parameters, never free text.

mod contacts;
pub mod deliver;
pub mod mail;
mod repo;
pub mod sms;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

pub use contacts::Contact;
pub use mail::{DeliveryError, Mailer, OutgoingMail};
pub use repo::NoticeRow;
pub use sms::SmsSender;

use crate::authz::Subject;
use crate::consents::{self, Purpose};
use crate::db::Tx;
use crate::jobs::{self, NewJob};
use crate::{Core, Result, UnixMs};

/// Arguments of a notice (all strings: they fill message templates and SMS parameters).
pub type Args = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Security,
    Legal,
    Billing,
    Service,
    Support,
    Announcement,
}

impl Class {
    pub const ALL: [Class; 6] =
        [Class::Security, Class::Legal, Class::Billing, Class::Service, Class::Support, Class::Announcement];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Security => "security",
            Class::Legal => "legal",
            Class::Billing => "billing",
            Class::Service => "service",
            Class::Support => "support",
            Class::Announcement => "announcement",
        }
    }

    /// Classes whose e-mail nobody can switch off.
    pub fn email_mandatory(self) -> bool {
        matches!(self, Class::Security | Class::Legal)
    }
}

/// Everything the product notifies about. Each has an e-mail (subject and body) and an
/// in-site text in both languages, under `notice-<key>-title` / `-body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    PasswordChanged,
    TwoFactorEnabled,
    NewDeviceSignIn,
    AccountLocked,
    RememberTokenReused,
    ServiceExpiring,
    InvoicePaid,
    /// To billing staff: the gateway took money that was not booked (a cancelled or already
    /// paid invoice, another amount): refund or credit it.
    PaymentRefused,
    /// The server is created and running (the welcome notice; never the password).
    ServiceActive,
    ServiceSuspended,
    ServiceResumed,
    ServiceTerminated,
    /// To staff who manage services: a service waits for them, with the last error.
    ServiceNeedsAttention,
    /// To staff who manage services: the daily check found upstream servers and services that
    /// do not match (nothing is deleted).
    UpstreamsDiffer,
}

impl Event {
    pub const ALL: [Event; 14] = [
        Event::PasswordChanged,
        Event::TwoFactorEnabled,
        Event::NewDeviceSignIn,
        Event::AccountLocked,
        Event::RememberTokenReused,
        Event::ServiceExpiring,
        Event::InvoicePaid,
        Event::PaymentRefused,
        Event::ServiceActive,
        Event::ServiceSuspended,
        Event::ServiceResumed,
        Event::ServiceTerminated,
        Event::ServiceNeedsAttention,
        Event::UpstreamsDiffer,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Event::PasswordChanged => "password-changed",
            Event::TwoFactorEnabled => "two-factor-enabled",
            Event::NewDeviceSignIn => "new-device-sign-in",
            Event::AccountLocked => "account-locked",
            Event::RememberTokenReused => "remember-token-reused",
            Event::ServiceExpiring => "service-expiring",
            Event::InvoicePaid => "invoice-paid",
            Event::PaymentRefused => "payment-refused",
            Event::ServiceActive => "service-active",
            Event::ServiceSuspended => "service-suspended",
            Event::ServiceResumed => "service-resumed",
            Event::ServiceTerminated => "service-terminated",
            Event::ServiceNeedsAttention => "service-needs-attention",
            Event::UpstreamsDiffer => "upstreams-differ",
        }
    }

    pub fn class(self) -> Class {
        match self {
            Event::PasswordChanged
            | Event::TwoFactorEnabled
            | Event::NewDeviceSignIn
            | Event::AccountLocked
            | Event::RememberTokenReused => Class::Security,
            Event::ServiceExpiring
            | Event::ServiceActive
            | Event::ServiceSuspended
            | Event::ServiceResumed
            | Event::ServiceTerminated
            | Event::ServiceNeedsAttention
            | Event::UpstreamsDiffer => Class::Service,
            Event::InvoicePaid | Event::PaymentRefused => Class::Billing,
        }
    }

    /// The arguments its texts need; `notify` refuses an event without them.
    pub fn required_args(self) -> &'static [&'static str] {
        match self {
            Event::NewDeviceSignIn => &["device"],
            Event::ServiceExpiring => &["service", "days"],
            Event::InvoicePaid => &["number", "amount"],
            Event::PaymentRefused => &["callback", "trade", "why"],
            Event::ServiceActive => &["service", "ip"],
            Event::ServiceSuspended | Event::ServiceResumed | Event::ServiceTerminated => &["service"],
            Event::ServiceNeedsAttention => &["service", "why"],
            Event::UpstreamsDiffer => &["summary"],
            Event::PasswordChanged | Event::TwoFactorEnabled | Event::AccountLocked | Event::RememberTokenReused => &[],
        }
    }

    /// Urgent enough for SMS (C1.6: security events and impending expiry).
    pub fn sms_worthy(self) -> bool {
        matches!(
            self,
            Event::NewDeviceSignIn | Event::AccountLocked | Event::RememberTokenReused | Event::ServiceExpiring
        )
    }
}

/// The channels a subject wants for a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub email: bool,
    pub sms: bool,
    pub insite: bool,
}

impl Channels {
    /// Before the subject chooses: e-mail and in-site for everything but announcements
    /// (in-site only); SMS where the event allows it and the consent stands.
    pub fn default_for(class: Class) -> Channels {
        match class {
            Class::Announcement => Channels { email: false, sms: false, insite: true },
            Class::Security | Class::Service => Channels { email: true, sms: true, insite: true },
            _ => Channels { email: true, sms: false, insite: true },
        }
    }
}

/// The channels in force: the subject's choice (or the default), with mandatory e-mail.
pub async fn channels(tx: &mut Tx, subject: Subject, class: Class) -> Result<Channels> {
    let mut c = repo::prefs(tx, subject, class).await?.unwrap_or_else(|| Channels::default_for(class));
    if class.email_mandatory() {
        c.email = true;
    }
    Ok(c)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub subject: Subject,
    pub event: Event,
    pub args: Args,
}

/// Notifies `subject` of `event`, in the caller's transaction: nothing is sent unless the
/// business change that caused it commits.
pub async fn notify(tx: &mut Tx, core: &Core, subject: Subject, event: Event, args: Args, now: UnixMs) -> Result<()> {
    notify_all(tx, core, event, vec![(subject, args)], now).await
}

/// [`notify`] for many notices of one event (a periodic run's reminders, say): the channels and
/// consent are looked up once per subject, the notices and deliveries written a few hundred
/// rows per statement.
pub async fn notify_all(tx: &mut Tx, core: &Core, event: Event, each: Vec<(Subject, Args)>, now: UnixMs) -> Result<()> {
    if let Some((_, args)) = each.iter().find(|(_, args)| event.required_args().iter().any(|a| !args.contains_key(*a)))
    {
        return Err(crate::Error::Internal(anyhow::anyhow!(
            "notice {} needs {:?}, has {:?}",
            event.key(),
            event.required_args(),
            args.keys().collect::<Vec<_>>()
        )));
    }
    let mut routes: HashMap<Subject, (Channels, bool)> = HashMap::new();
    let (mut notices, mut jobs) = (Vec::new(), Vec::new());
    for (subject, args) in each {
        let (ch, sms) = match routes.get(&subject) {
            Some(route) => *route,
            None => {
                let route = route(tx, core, subject, event).await?;
                *routes.entry(subject).or_insert(route)
            }
        };
        let delivery = Delivery { subject, event, args };
        if ch.email {
            jobs.push(NewJob::new(deliver::EMAIL, &delivery, now)?);
        }
        if sms {
            jobs.push(NewJob::new(deliver::SMS, &delivery, now)?);
        }
        if ch.insite {
            notices.push((delivery.subject, delivery.args));
        }
    }
    repo::insert_notices(tx, event, &notices, now).await?;
    jobs::enqueue_all(tx, core, &jobs, now).await?;
    Ok(())
}

/// The subject's channels for the event, and whether it goes by SMS too.
async fn route(tx: &mut Tx, core: &Core, subject: Subject, event: Event) -> Result<(Channels, bool)> {
    let ch = channels(tx, subject, event.class()).await?;
    let sms_wanted = ch.sms && event.sms_worthy() && core.sms.is_some();
    let sms = sms_wanted && consents::current_in(tx, subject, Purpose::SmsNotices).await?.is_some();
    Ok((ch, sms))
}

/// In-site notices, newest first, and the unread count.
pub async fn notices(core: &Core, subject: Subject, limit: i64) -> Result<(Vec<NoticeRow>, i64)> {
    let rows = repo::notices(&core.db, subject, limit).await?;
    let unread = repo::unread(&core.db, subject).await?;
    Ok((rows, unread))
}

pub async fn mark_read(core: &Core, subject: Subject, now: UnixMs) -> Result<u64> {
    let mut tx = core.db.begin().await?;
    let n = repo::mark_all_read(&mut tx, subject, now).await?;
    tx.commit().await?;
    Ok(n)
}

/// Saves a subject's choice for a class. E-mail for security and legal cannot be switched off.
pub async fn set_channels(core: &Core, subject: Subject, class: Class, mut ch: Channels) -> Result<()> {
    if class.email_mandatory() && !ch.email {
        return Err(crate::Error::validation("email", "email-mandatory"));
    }
    ch.email |= class.email_mandatory();
    let mut tx = core.db.begin().await?;
    repo::set_prefs(&mut tx, subject, class, ch).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Tr};

    #[test]
    fn every_notice_has_both_languages_and_email_rules_hold() {
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            for e in Event::ALL {
                let args: Args = e.required_args().iter().map(|a| (a.to_string(), "x".to_string())).collect();
                for part in ["title", "body"] {
                    let key = format!("notice-{}-{part}", e.key());
                    assert_ne!(t.t_args(&key, &args), key, "{key} missing in {}", lang.code());
                }
            }
            assert_ne!(t.t("mail-footer"), "mail-footer");
        }
        assert!(
            Class::Security.email_mandatory() && Class::Legal.email_mandatory() && !Class::Billing.email_mandatory()
        );
        assert!(Channels::default_for(Class::Security).email && !Channels::default_for(Class::Announcement).email);
    }
}
