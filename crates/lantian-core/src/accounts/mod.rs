//! Customer accounts: registration with an age declaration, e-mail verification, sign-in with
//! brute-force defences and an optional second factor, "remember me", password reset, e-mail
//! change, and the optional contact data of C1.6.

mod links;
mod login;
mod profile;
mod register;
mod remember;
pub(crate) mod repo;

pub use links::{
    LinkPurpose, SEND_LINK, SendLink, confirm_email_change, request_email_change, request_password_reset,
    reset_password, send_verification, verify_email,
};
pub use login::{Credentials, SignIn, check_credentials, second_factor, sign_in};
pub use profile::{Profile, ProfileInput, phone_of, profile, update_profile};
pub use register::{AgeBracket, NewCustomer, Registered, register};
pub use remember::{Remembered, exchange_remember_token, issue_remember_token, revoke_remember_tokens};
pub use repo::Customer;

use crate::authz::Subject;
use crate::{Core, Error, Result};

pub async fn get(core: &Core, id: i64) -> Result<Customer> {
    repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)
}

pub fn subject(id: i64) -> Subject {
    Subject::customer(id)
}

/// Lower-case, trimmed: the form a username is unique in.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Trimmed and lower-cased: the form an e-mail address is stored and compared in.
pub fn normalise_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    if e.len() > 254 || e.chars().any(char::is_control) || e.parse::<lettre::Address>().is_err() {
        return Err(Error::validation("email", "email"));
    }
    Ok(e)
}

/// Password rules for customers: 10 to 256 characters, zxcvbn score at least 3, and not
/// containing the username or the e-mail's local part.
pub fn check_password(password: &str, username: &str, email: &str) -> Result<()> {
    let len = password.chars().count();
    if !(10..=256).contains(&len) {
        return Err(Error::validation("password", "password-length"));
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if lower.contains(&username.to_lowercase()) || (local.len() >= 3 && lower.contains(&local)) {
        return Err(Error::validation("password", "password-personal"));
    }
    let score = zxcvbn::zxcvbn(password, &[username, email]).score();
    if (score as u8) < 3 {
        return Err(Error::validation("password", "password-weak"));
    }
    Ok(())
}

/// Saves a customer's language (pages, e-mails and notices follow it).
pub async fn set_lang(core: &Core, id: i64, lang: crate::i18n::Lang) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::set_lang(&mut tx, id, lang.code()).await?;
    tx.commit().await?;
    Ok(())
}

/// Turns on two-step verification with the first code from the app; returns the recovery
/// codes (shown once) and tells the owner.
pub async fn enable_totp(core: &Core, id: i64, code: &str) -> Result<Vec<String>> {
    let now = core.now();
    let codes = crate::totp::confirm(core, Subject::customer(id), code, now).await?;
    let mut tx = core.db.begin().await?;
    crate::notify::notify(
        &mut tx,
        core,
        Subject::customer(id),
        crate::notify::Event::TwoFactorEnabled,
        Default::default(),
        now,
    )
    .await?;
    let ev = crate::audit::Event::new("customer.totp_enrol")
        .target("customer", id)
        .fields(&["totp_secret", "recovery_codes"]);
    crate::audit::record(&mut tx, &crate::authz::Principal::Customer(id), None, ev, now).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Deletes accounts whose e-mail was never verified 30 days after sign-up (ARCHITECTURE §5).
pub async fn purge_unverified(core: &Core) -> Result<u64> {
    let cutoff = core.now().minus(std::time::Duration::from_secs(30 * 86_400));
    Ok(repo::delete_unverified(&core.db, cutoff).await?)
}
