//! Single-use links by e-mail: verify the address, reset the password, confirm a new address.
//! The token is made when the mail is sent, and only its hash is stored: no job payload, log
//! or table ever holds a usable link.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::repo;
use crate::authz::{Principal, Subject};
use crate::crypto::token::{hash_token, new_token};
use crate::db::Tx;
use crate::i18n::{Lang, Tr};
use crate::jobs::{self, ClaimedJob, JobError, JobHandler, JobOutcome, NewJob};
use crate::notify::{DeliveryError, OutgoingMail};
use crate::ratelimit::{self, Decision};
use crate::{Core, Error, RequestMeta, Result, UnixMs, audit, on_tx, sessions};

pub const SEND_LINK: &str = "accounts.link";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
    /// Not a link: tells the old address that the e-mail was changed.
    EmailChanged,
}

impl LinkPurpose {
    fn key(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify-email",
            LinkPurpose::ResetPassword => "reset-password",
            LinkPurpose::ChangeEmail => "change-email",
            LinkPurpose::EmailChanged => "email-changed",
        }
    }
    fn table_name(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify_email",
            LinkPurpose::ResetPassword => "reset_password",
            LinkPurpose::ChangeEmail | LinkPurpose::EmailChanged => "change_email",
        }
    }
    fn path(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "/verify-email",
            LinkPurpose::ResetPassword => "/reset-password",
            LinkPurpose::ChangeEmail | LinkPurpose::EmailChanged => "/confirm-email",
        }
    }
    fn valid_for(self) -> Duration {
        match self {
            LinkPurpose::VerifyEmail => Duration::from_secs(86_400),
            _ => Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    customer_id: i64,
    purpose: LinkPurpose,
    /// The address to write to, when it is not the account's own (the new or the old one).
    to: Option<String>,
}

pub(super) async fn queue(tx: &mut Tx, core: &Core, customer_id: i64, purpose: LinkPurpose, now: UnixMs) -> Result<()> {
    queue_to(tx, core, customer_id, purpose, None, now).await
}

async fn queue_to(
    tx: &mut Tx,
    core: &Core,
    customer_id: i64,
    purpose: LinkPurpose,
    to: Option<String>,
    now: UnixMs,
) -> Result<()> {
    jobs::enqueue(tx, core, NewJob::new(SEND_LINK, &Payload { customer_id, purpose, to }, now)?, now).await?;
    Ok(())
}

/// The mail job: makes the token, stores its hash, sends the link.
pub struct SendLink;

#[async_trait]
impl JobHandler for SendLink {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let p: Payload =
            serde_json::from_str(&job.payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        let Some(c) = repo::by_id(&core.db, p.customer_id).await? else { return Ok(JobOutcome::Done) };
        let now = core.now();
        let mut args = crate::notify::Args::new();
        args.insert("username".into(), c.username.clone());
        let to = p.to.clone().unwrap_or_else(|| c.email.clone());
        if p.purpose != LinkPurpose::EmailChanged {
            let (token, hash) = new_token();
            let mut tx = core.db.begin().await?;
            let new_email = if p.purpose == LinkPurpose::ChangeEmail { p.to.as_deref() } else { None };
            insert_link(&mut tx, c.id, p.purpose, &hash, new_email, now).await?;
            tx.commit().await?;
            args.insert("link".into(), format!("{}{}?token={token}", core.config.server.public_url, p.purpose.path()));
        }
        let tr = Tr::new(Lang::from_code(&c.lang).unwrap_or_default());
        let key = p.purpose.key();
        let mail = OutgoingMail {
            to,
            subject: format!("{} {}", tr.t("mail-subject-prefix"), tr.t_args(&format!("mail-{key}-subject"), &args)),
            text: format!("{}\n\n{}", tr.t_args(&format!("mail-{key}-body"), &args), tr.t("mail-footer")),
        };
        core.mailer.send(&mail).await.map_err(|e| match e {
            DeliveryError::Temporary(m) => JobError::Retry(m),
            DeliveryError::Permanent(m) => JobError::Permanent(m),
        })?;
        Ok(JobOutcome::Done)
    }
}

async fn insert_link(
    tx: &mut Tx,
    id: i64,
    purpose: LinkPurpose,
    hash: &str,
    new_email: Option<&str>,
    now: UnixMs,
) -> Result<()> {
    const SQL: &str = "INSERT INTO account_links (customer_id, purpose, token_hash, new_email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)";
    let expires = now.plus(purpose.valid_for());
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(purpose.table_name()).bind(hash).bind(new_email).bind(now).bind(expires)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// Uses a link: marks it used (once, ever) and returns (customer id, new e-mail if any).
async fn use_link(tx: &mut Tx, token: &str, purpose: LinkPurpose, now: UnixMs) -> Result<(i64, Option<String>)> {
    const SQL: &str = "UPDATE account_links SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL \
         AND expires_at > $3 RETURNING customer_id, new_email";
    if token.len() != 43 {
        return Err(Error::validation("token", "link-invalid"));
    }
    let row: Option<(i64, Option<String>)> = on_tx!(tx, c => sqlx::query_as(SQL)
        .bind(hash_token(token)).bind(purpose.table_name()).bind(now).fetch_optional(c).await?);
    row.ok_or(Error::validation("token", "link-invalid"))
}

pub async fn send_verification(core: &Core, customer_id: i64) -> Result<()> {
    limit(core, &format!("verify:{customer_id}"), 3).await?;
    let mut tx = core.db.begin().await?;
    queue(&mut tx, core, customer_id, LinkPurpose::VerifyEmail, core.now()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn verify_email(core: &Core, token: &str) -> Result<i64> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let (id, _) = use_link(&mut tx, token, LinkPurpose::VerifyEmail, now).await?;
    repo::mark_verified(&mut tx, id, now).await?;
    audit::record(
        &mut tx,
        &Principal::Customer(id),
        None,
        audit::Event::new("customer.verify_email").target("customer", id),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Three requests per 30 minutes per key.
async fn limit(core: &Core, key: &str, n: u32) -> Result<()> {
    match ratelimit::hit(&core.db, key, Duration::from_secs(1800), n, core.now()).await? {
        Decision::Allowed => Ok(()),
        Decision::RetryAfter(retry_after) => Err(Error::RateLimited { retry_after }),
    }
}

/// Sends a reset link if the address belongs to an account. The answer is the same either
/// way; requests are limited per address and per IP.
pub async fn request_password_reset(core: &Core, email: &str, meta: &RequestMeta) -> Result<()> {
    let email = super::normalise_email(email)?;
    limit(core, &format!("reset:ip:{}", meta.ip.as_deref().unwrap_or("-")), 10).await?;
    limit(core, &format!("reset:addr:{}", core.keys.blind_index("reset", &email)), 3).await?;
    if let Some((c, _)) = repo::by_login(&core.db, &email).await? {
        let mut tx = core.db.begin().await?;
        queue(&mut tx, core, c.id, LinkPurpose::ResetPassword, core.now()).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Sets a new password from a reset link; every session and remembered device ends.
pub async fn reset_password(core: &Core, token: &str, new_password: &str, meta: &RequestMeta) -> Result<i64> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let (id, _) = use_link(&mut tx, token, LinkPurpose::ResetPassword, now).await?;
    let c = repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)?;
    super::check_password(new_password, &c.username, &c.email)?;
    let hash = core.passwords.hash(new_password).await?;
    repo::set_password(&mut tx, id, &hash).await?;
    let subject = Subject::customer(id);
    sessions::end_all(&mut tx, subject, "password reset", now).await?;
    super::remember::revoke_all(&mut tx, id, now).await?;
    audit::record(
        &mut tx,
        &Principal::Customer(id),
        meta.request_id.as_deref(),
        audit::Event::new("customer.password_reset").target("customer", id).fields(&["password"]),
        now,
    )
    .await?;
    crate::notify::notify(&mut tx, core, subject, crate::notify::Event::PasswordChanged, Default::default(), now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Starts an e-mail change: the new address gets a link; nothing changes until it is used.
pub async fn request_email_change(core: &Core, customer_id: i64, new_email: &str) -> Result<()> {
    let email = super::normalise_email(new_email)?;
    limit(core, &format!("change-email:{customer_id}"), 3).await?;
    let mut tx = core.db.begin().await?;
    queue_to(&mut tx, core, customer_id, LinkPurpose::ChangeEmail, Some(email), core.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Completes an e-mail change from the link sent to the new address, and tells the old one.
pub async fn confirm_email_change(core: &Core, token: &str) -> Result<i64> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let (id, new_email) = use_link(&mut tx, token, LinkPurpose::ChangeEmail, now).await?;
    let new_email = new_email.ok_or(Error::validation("token", "link-invalid"))?;
    let old = repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)?.email;
    if !repo::set_email(&mut tx, id, &new_email, now).await? {
        return Err(Error::Conflict("that address belongs to another account"));
    }
    queue_to(&mut tx, core, id, LinkPurpose::EmailChanged, Some(old), now).await?;
    audit::record(
        &mut tx,
        &Principal::Customer(id),
        None,
        audit::Event::new("customer.email_change").target("customer", id).fields(&["email"]),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
