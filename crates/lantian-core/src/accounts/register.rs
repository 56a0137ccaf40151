//! Sign-up (C1.1): username, password, e-mail, the age declaration, and the consents to the
//! privacy policy and to storage in Hong Kong, all in one transaction; then a verification
//! link by e-mail. An under-16 declaration ends the sign-up before anything is stored.

use serde::Deserialize;

use super::{LinkPurpose, check_password, normalise_email, repo};
use crate::audit::{self, Event};
use crate::authz::{Principal, Subject};
use crate::consents::{self, Given, Purpose};
use crate::i18n::Lang;
use crate::{Core, Error, RequestMeta, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBracket {
    /// 18 or over.
    Adult,
    /// 16 or 17: may sign up; a guardian's written consent must be on file before buying.
    Minor,
    /// Under 16: sign-up ends with nothing stored (C7.2).
    Child,
}

pub struct NewCustomer<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub age: AgeBracket,
    pub accepted_policy: bool,
    pub lang: Lang,
}

pub enum Registered {
    Created {
        id: i64,
    },
    /// Declared under 16: nothing was stored.
    TooYoung,
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.chars().count()) && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub async fn register(core: &Core, input: NewCustomer<'_>, meta: &RequestMeta) -> Result<Registered> {
    if input.age == AgeBracket::Child {
        return Ok(Registered::TooYoung);
    }
    let username = input.username.trim();
    if !valid_username(username) {
        return Err(Error::validation("username", "username"));
    }
    let email = normalise_email(input.email)?;
    check_password(input.password, username, &email)?;
    if !input.accepted_policy {
        return Err(Error::validation("accept", "accept-policy"));
    }
    let hash = core.passwords.hash(input.password).await?;
    let now = core.now();
    let version = consents::current_policy_version(&core.db).await?;
    let mut tx = core.db.begin().await?;
    let age = if input.age == AgeBracket::Adult { "adult" } else { "minor" };
    let row = repo::NewRow { username, email: &email, hash: &hash, age, lang: input.lang.code() };
    // One unique conflict for both: the answer does not say which, so it reveals no address.
    let id = repo::insert(&mut tx, &row, now).await?.ok_or(Error::Conflict("username or e-mail taken"))?;
    let subject = Subject::customer(id);
    for (purpose, detail) in
        [(Purpose::PrivacyPolicy, "sign-up"), (Purpose::HkStorageNotice, "sign-up: data stored in Hong Kong")]
    {
        consents::give(&mut tx, subject, purpose, version, Given { detail, ip: meta.ip.as_deref() }, now).await?;
    }
    audit::record(
        &mut tx,
        &Principal::Customer(id),
        meta.request_id.as_deref(),
        Event::new("customer.register").target("customer", id),
        now,
    )
    .await?;
    super::links::queue(&mut tx, core, id, LinkPurpose::VerifyEmail, now).await?;
    tx.commit().await?;
    Ok(Registered::Created { id })
}
