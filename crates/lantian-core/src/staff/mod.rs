//! Staff accounts, separate from customers. Created with a one-time password that the first
//! login must replace; TOTP is required before the console opens. Deactivating a member ends
//! their sessions and API tokens at once.

mod repo;

use rand::RngCore;

pub use repo::StaffMember;

use crate::audit::{self, Event};
use crate::authz::{Permission, Principal, Role, Subject};
use crate::crypto::password::Verified;
use crate::db::Tx;
pub use crate::phone::PhoneChange;
use crate::{Core, Error, RequestMeta, Result, UnixMs, apitokens, sessions};

pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<Role>,
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len()) && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

fn valid_email(e: &str) -> bool {
    e.len() <= 254 && e.parse::<lettre::Address>().is_ok()
}

/// A password a person can type from a printout: 4 groups of 5 from an unambiguous alphabet
/// (about 100 bits).
fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    chars.chunks(5).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// Creates a staff member and returns their one-time password. Only staff with
/// `StaffManage` (or the `lantian staff create` command, acting as System) may; only an owner
/// or the command may grant the owner role.
pub async fn create(core: &Core, who: &Principal, input: NewStaff, meta: &RequestMeta) -> Result<(i64, String)> {
    if *who != Principal::System {
        who.require(Permission::StaffManage)?;
        if input.roles.contains(&Role::Owner) && !who.is_owner() {
            return Err(Error::Forbidden);
        }
    }
    let username = input.username.trim().to_lowercase();
    if !valid_username(&username) {
        return Err(Error::validation("username", "staff-username"));
    }
    let email = input.email.trim().to_string();
    if !valid_email(&email) {
        return Err(Error::validation("email", "email"));
    }
    let display_name = input.display_name.trim().to_string();
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(Error::validation("display_name", "display-name"));
    }
    if input.roles.is_empty() {
        return Err(Error::validation("roles", "roles"));
    }
    let password = one_time_password();
    let hash = core.passwords.hash(&password).await?;
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let id = repo::insert(&mut tx, &username, &display_name, &email, &hash, now)
        .await?
        .ok_or(Error::Conflict("a staff member with this username exists"))?;
    for role in &input.roles {
        repo::add_role(&mut tx, id, *role).await?;
    }
    let roles: Vec<&str> = input.roles.iter().map(|r| r.as_str()).collect();
    let fields = ["username", "display_name", "email", "roles"];
    let reason = roles.join(",");
    audit::record(
        &mut tx,
        who,
        meta.request_id.as_deref(),
        Event::new("staff.create").target("staff", id).fields(&fields).reason(&reason),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((id, password))
}

/// The id of the member with this username, for the access log of a failed sign-in (which
/// account was tried). Never shown to the one signing in.
pub async fn id_of_username(core: &Core, username: &str) -> Result<Option<i64>> {
    let username = username.trim().to_lowercase();
    Ok(repo::by_username(&core.db, &username).await?.map(|(m, _)| m.id))
}

/// Checks a username and password. Unknown names and wrong passwords take the same time and
/// give the same answer. A hash with old parameters is replaced.
pub async fn check_password(core: &Core, username: &str, password: &str) -> Result<Option<StaffMember>> {
    let username = username.trim().to_lowercase();
    let found = repo::by_username(&core.db, &username).await?;
    let Some((member, hash)) = found.filter(|(m, _)| m.active) else {
        core.passwords.verify_nobody(password).await?;
        return Ok(None);
    };
    match core.passwords.verify(password, &hash).await? {
        Verified::No => Ok(None),
        Verified::Yes => Ok(Some(member)),
        Verified::YesRehash => {
            let new = core.passwords.hash(password).await?;
            let mut tx = core.db.begin().await?;
            repo::set_password(&mut tx, member.id, &new, member.must_change_password).await?;
            tx.commit().await?;
            Ok(Some(member))
        }
    }
}

/// Replaces the one-time (or any) password. Staff passwords are at least 12 characters and do
/// not contain the username.
pub async fn change_password(core: &Core, id: i64, new_password: &str, meta: &RequestMeta) -> Result<()> {
    let member = repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)?;
    if new_password.chars().count() < 12 || new_password.chars().count() > 256 {
        return Err(Error::validation("password", "staff-password-length"));
    }
    if new_password.to_lowercase().contains(&member.username) {
        return Err(Error::validation("password", "password-contains-username"));
    }
    let hash = core.passwords.hash(new_password).await?;
    let now = core.now();
    let mut tx = core.db.begin().await?;
    repo::set_password(&mut tx, id, &hash, false).await?;
    let who = principal_of(&member);
    audit::record(
        &mut tx,
        &who,
        meta.request_id.as_deref(),
        Event::new("staff.password_change").target("staff", id).fields(&["password"]),
        now,
    )
    .await?;
    crate::notify::notify(
        &mut tx,
        core,
        Subject::staff(id),
        crate::notify::Event::PasswordChanged,
        Default::default(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deactivates a member: their sessions and API tokens end in the same transaction.
pub async fn deactivate(core: &Core, who: &Principal, id: i64, meta: &RequestMeta) -> Result<()> {
    who.require(Permission::StaffManage)?;
    if who.subject() == Some(Subject::staff(id)) {
        return Err(Error::Conflict("you cannot deactivate yourself"));
    }
    let target = repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)?;
    if target.roles.contains(&Role::Owner) && !who.is_owner() {
        return Err(Error::Forbidden);
    }
    let now = core.now();
    let mut tx = core.db.begin().await?;
    if !repo::deactivate(&mut tx, id, now).await? {
        return Err(Error::Conflict("already deactivated"));
    }
    sessions::end_all(&mut tx, Subject::staff(id), "deactivated", now).await?;
    apitokens::revoke_all(&mut tx, Subject::staff(id), now).await?;
    audit::record(&mut tx, who, meta.request_id.as_deref(), Event::new("staff.deactivate").target("staff", id), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(core: &Core, who: &Principal) -> Result<Vec<StaffMember>> {
    who.require(Permission::StaffManage)?;
    Ok(repo::list(&core.db).await?)
}

pub async fn get(core: &Core, id: i64) -> Result<StaffMember> {
    repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)
}

/// The acting principal of an active member; None when deactivated or unknown.
pub async fn principal(core: &Core, id: i64) -> Result<Option<Principal>> {
    Ok(repo::by_id(&core.db, id).await?.filter(|m| m.active).map(|m| principal_of(&m)))
}

/// The acting principal of a member (check `active` first).
pub fn principal_of(m: &StaffMember) -> Principal {
    Principal::Staff { id: m.id, roles: m.roles.clone() }
}

/// A staff member's e-mail in full: with a reason, audited.
pub async fn reveal_email(
    core: &Core,
    who: &Principal,
    id: i64,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<String> {
    crate::reveal::reveal(core, who, ("staff", id.to_string()), "email", reason, meta, now, async {
        Ok(repo::by_id(&core.db, id).await?.ok_or(Error::NotFound)?.email)
    })
    .await
}

/// The outcome of the second sign-in step.
pub enum SecondFactor {
    /// Wrong, replayed or used-up code: ask again.
    Wrong,
    /// Signed in; the session has a new token.
    SignedIn { token: String },
    /// The authenticator was enrolled with this first code; signed in; the recovery codes are
    /// shown once.
    Enrolled { token: String, recovery_codes: Vec<String> },
}

/// Completes a staff sign-in after the password: confirms the TOTP enrolment on the first
/// sign-in, or checks the code (or a recovery code) afterwards. Success rotates the session
/// token and raises the session to active; both are audited.
pub async fn second_factor(
    core: &Core,
    session: &sessions::SessionRow,
    code: &str,
    meta: &RequestMeta,
) -> Result<SecondFactor> {
    let member = get(core, session.subject_id).await?;
    let subject = Subject::staff(member.id);
    let who = principal_of(&member);
    let now = core.now();
    if crate::totp::is_enabled(core, subject).await? {
        if !crate::totp::verify(core, subject, code, now).await? {
            return Ok(SecondFactor::Wrong);
        }
        let mut tx = core.db.begin().await?;
        audit::record(
            &mut tx,
            &who,
            meta.request_id.as_deref(),
            Event::new("staff.sign_in").target("staff", member.id),
            now,
        )
        .await?;
        tx.commit().await?;
        let token = sessions::rotate(core, session.id, sessions::Stage::Active, now).await?;
        return Ok(SecondFactor::SignedIn { token });
    }
    let recovery_codes = match crate::totp::confirm(core, subject, code, now).await {
        Ok(codes) => codes,
        Err(Error::Validation { .. }) => return Ok(SecondFactor::Wrong),
        Err(e) => return Err(e),
    };
    let mut tx = core.db.begin().await?;
    let ev = Event::new("staff.totp_enrol").target("staff", member.id).fields(&["totp_secret", "recovery_codes"]);
    audit::record(&mut tx, &who, meta.request_id.as_deref(), ev, now).await?;
    crate::notify::notify(&mut tx, core, subject, crate::notify::Event::TwoFactorEnabled, Default::default(), now)
        .await?;
    tx.commit().await?;
    let token = sessions::rotate(core, session.id, sessions::Stage::Active, now).await?;
    Ok(SecondFactor::Enrolled { token, recovery_codes })
}

fn phone_aad(row: &str) -> crate::crypto::Aad<'_> {
    crate::crypto::Aad { table: "staff", column: "phone", row }
}

/// A member's own phone (for SMS alerts) and SMS consent; without a phone there is no SMS
/// consent. Only the member sets these.
pub async fn set_contact(
    core: &Core,
    who: &Principal,
    change: PhoneChange<'_>,
    sms_consent: bool,
    meta: &RequestMeta,
) -> Result<()> {
    let Some(Subject { id, .. }) = who.subject().filter(|s| s.kind == crate::authz::SubjectKind::Staff) else {
        return Err(Error::Forbidden);
    };
    let member = get(core, id).await?;
    let sealed = match change {
        PhoneChange::Keep => member.phone.clone(),
        PhoneChange::Remove => None,
        PhoneChange::Set(p) => {
            let row = Subject::staff(id).key();
            Some(core.keys.seal_str(&crate::phone::normalise(p)?, phone_aad(&row)))
        }
    };
    let now = core.now();
    let subject = Subject::staff(id);
    let mut tx = core.db.begin().await?;
    repo::set_phone(&mut tx, id, sealed.as_deref()).await?;
    let version = crate::consents::current_policy_version(&core.db).await?;
    let standing = crate::consents::current_in(&mut tx, subject, crate::consents::Purpose::SmsNotices).await?.is_some();
    let want = sms_consent && sealed.is_some();
    if want != standing {
        let vendor = core.sms.as_ref().map(|s| s.vendor().to_string()).unwrap_or_default();
        let how = crate::consents::Given { detail: &vendor, ip: meta.ip.as_deref() };
        if want {
            crate::consents::give(&mut tx, subject, crate::consents::Purpose::SmsNotices, version, how, now).await?;
        } else {
            crate::consents::withdraw(&mut tx, subject, crate::consents::Purpose::SmsNotices, version, how, now)
                .await?;
        }
    }
    audit::record(
        &mut tx,
        who,
        meta.request_id.as_deref(),
        Event::new("staff.contact_update").target("staff", id).fields(&["phone", "sms_notices"]),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The member's phone in clear, for sending (never for display).
pub fn phone_of(core: &Core, m: &StaffMember) -> Result<Option<String>> {
    let Some(sealed) = &m.phone else { return Ok(None) };
    let row = Subject::staff(m.id).key();
    let plain = core
        .keys
        .open_str(sealed, phone_aad(&row))
        .map_err(|e| Error::Internal(anyhow::anyhow!("phone of {row}: {e}")))?;
    Ok(Some(plain.to_string()))
}

/// The number of members; `lantian staff create` warns when the first is not an owner.
/// Active members whose roles grant `p`: who hears of what needs that permission.
pub async fn holders_of(tx: &mut Tx, p: Permission) -> Result<Vec<i64>> {
    let roles: Vec<&str> = crate::authz::roles_granting(p).into_iter().map(Role::as_str).collect();
    Ok(repo::holders_of(tx, &roles).await?)
}

pub async fn count(core: &Core) -> Result<i64> {
    Ok(repo::count(&core.db).await?)
}
