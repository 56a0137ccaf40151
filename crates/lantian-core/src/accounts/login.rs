//! Customer sign-in (C1.7): by username or e-mail; unknown accounts and wrong passwords get
//! the same answer in the same time; failures are counted per login name and per address,
//! with growing windows, in counters shared by all instances, so throttling looks the same
//! whether or not the account exists. The owner hears of a lock-out and of a sign-in from a
//! device not seen before. A database error is an error, never "wrong password", and never
//! counts as a failure.

use std::time::Duration;

use super::repo;
use crate::audit::{self, Event};
use crate::authz::{Principal, Subject};
use crate::crypto::password::Verified;
use crate::notify::{self, Args};
use crate::ratelimit::{self, Decision};
use crate::sessions::{self, SessionRow, Stage};
use crate::{Core, RequestMeta, Result, totp};

pub enum SignIn {
    /// The password was right; `token` is the new session's. With a second factor, the
    /// session waits at the password stage.
    Started {
        customer_id: i64,
        token: String,
        needs_second_factor: bool,
    },
    /// `account` is the account tried, when it exists: for its owner's sign-in history only,
    /// never for the answer.
    Wrong {
        account: Option<i64>,
    },
    Throttled(Duration),
}

/// Failures of one login name: 5 in 15 minutes, 10 in an hour, 20 in a day; each step locks
/// longer (the exponential back-off).
const NAME_LIMITS: [(u64, u32); 3] = [(900, 5), (3600, 10), (86_400, 20)];
/// One address: 30 attempts in 10 minutes, and at most 20 different login names an hour
/// (credential stuffing); one login name from at most 10 addresses an hour.
const IP_ATTEMPTS: (u64, u32) = (600, 30);
const IP_NAMES: u32 = 20;
const NAME_IPS: u32 = 10;

struct Keys {
    name: String,
    ip: String,
}

fn keys(core: &Core, login: &str, meta: &RequestMeta) -> Keys {
    Keys { name: core.keys.blind_index("login", login), ip: meta.ip.clone().unwrap_or_else(|| "-".into()) }
}

async fn throttled(core: &Core, k: &Keys) -> Result<Option<Duration>> {
    let now = core.now();
    let db = &core.db;
    let hour = Duration::from_secs(3600);
    let mut checks = vec![(format!("login:ip:{}", k.ip), Duration::from_secs(IP_ATTEMPTS.0), IP_ATTEMPTS.1)];
    for (secs, limit) in NAME_LIMITS {
        checks.push((format!("login:fail:{secs}:{}", k.name), Duration::from_secs(secs), limit - 1));
    }
    checks.push((format!("login:ip-names:{}", k.ip), hour, IP_NAMES));
    checks.push((format!("login:name-ips:{}", k.name), hour, NAME_IPS));
    for (key, window, limit) in checks {
        if let Decision::RetryAfter(d) = ratelimit::check(db, &key, window, limit, now).await? {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// Counts this attempt: the address, and each new pairing of address and login name.
async fn count_attempt(core: &Core, k: &Keys) -> Result<()> {
    let now = core.now();
    let hour = Duration::from_secs(3600);
    ratelimit::count(&core.db, &format!("login:ip:{}", k.ip), Duration::from_secs(IP_ATTEMPTS.0), now).await?;
    if ratelimit::count(&core.db, &format!("login:pair:{}:{}", k.ip, k.name), hour, now).await? == 1 {
        ratelimit::count(&core.db, &format!("login:ip-names:{}", k.ip), hour, now).await?;
        ratelimit::count(&core.db, &format!("login:name-ips:{}", k.name), hour, now).await?;
    }
    Ok(())
}

/// Counts a failure of the login name; true when it just reached a lock.
async fn count_failure(core: &Core, k: &Keys) -> Result<bool> {
    let now = core.now();
    let mut locked = false;
    for (secs, limit) in NAME_LIMITS {
        let n = ratelimit::count(&core.db, &format!("login:fail:{secs}:{}", k.name), Duration::from_secs(secs), now)
            .await?;
        locked |= n == i64::from(limit);
    }
    Ok(locked)
}

/// What checking a login name and password found.
pub enum Credentials {
    Valid { customer_id: i64, needs_second_factor: bool },
    Wrong { account: Option<i64> },
    Throttled(Duration),
}

/// Starts a browser session for valid credentials.
pub async fn sign_in(core: &Core, login: &str, password: &str, meta: &RequestMeta) -> Result<SignIn> {
    Ok(match check_credentials(core, login, password, meta).await? {
        Credentials::Wrong { account } => SignIn::Wrong { account },
        Credentials::Throttled(d) => SignIn::Throttled(d),
        Credentials::Valid { customer_id, needs_second_factor } => {
            let stage = if needs_second_factor { Stage::Password } else { Stage::Active };
            let (token, _) = sessions::start(core, Subject::customer(customer_id), stage, meta, core.now()).await?;
            SignIn::Started { customer_id, token, needs_second_factor }
        }
    })
}

/// The defences and the password check shared by the site and the API's token endpoint.
pub async fn check_credentials(core: &Core, login: &str, password: &str, meta: &RequestMeta) -> Result<Credentials> {
    let login = login.trim().to_lowercase();
    let k = keys(core, &login, meta);
    if let Some(wait) = throttled(core, &k).await? {
        return Ok(Credentials::Throttled(wait));
    }
    count_attempt(core, &k).await?;
    let found = repo::by_login(&core.db, &login).await?;
    let verified = match &found {
        Some((_, hash)) => core.passwords.verify(password, hash).await?,
        None => core.passwords.verify_nobody(password).await?,
    };
    let account = found.as_ref().map(|(c, _)| c.id);
    let Some((customer, _)) = found.filter(|_| verified != Verified::No) else {
        if count_failure(core, &k).await? {
            lock_notice(core, &login, meta).await?;
        }
        return Ok(Credentials::Wrong { account });
    };
    let now = core.now();
    for (secs, _) in NAME_LIMITS {
        ratelimit::reset(&core.db, &format!("login:fail:{secs}:{}", k.name)).await?;
    }
    let subject = Subject::customer(customer.id);
    let mut tx = core.db.begin().await?;
    if verified == Verified::YesRehash {
        repo::set_password(&mut tx, customer.id, &core.passwords.hash(password).await?).await?;
    }
    let (browser, os) = sessions::device_of(meta.user_agent.as_deref());
    let device = format!("{} / {}", family(browser.as_deref()), family(os.as_deref()));
    let new_device = repo::see_device(&mut tx, customer.id, &core.keys.blind_index("device", &device), now).await?;
    // The first device of an account is no surprise to its owner.
    if new_device && repo::device_count(&mut tx, customer.id).await? > 1 {
        let args = Args::from([("device".to_string(), device)]);
        notify::notify(&mut tx, core, subject, notify::Event::NewDeviceSignIn, args, now).await?;
    }
    tx.commit().await?;
    let needs_second_factor = totp::is_enabled(core, subject).await?;
    Ok(Credentials::Valid { customer_id: customer.id, needs_second_factor })
}

/// The browser or OS name without its version: "Firefox 140.0" → "Firefox".
fn family(name: Option<&str>) -> String {
    let n = name.unwrap_or("?");
    n.split(' ').next().unwrap_or(n).to_string()
}

/// Tells the owner of an existing account that it was just locked (e-mail, and SMS with
/// consent), and records the security event for staff.
async fn lock_notice(core: &Core, login: &str, meta: &RequestMeta) -> Result<()> {
    let Some((c, _)) = repo::by_login(&core.db, login).await? else { return Ok(()) };
    let now = core.now();
    let mut tx = core.db.begin().await?;
    notify::notify(&mut tx, core, Subject::customer(c.id), notify::Event::AccountLocked, Args::new(), now).await?;
    audit::record(
        &mut tx,
        &Principal::System,
        meta.request_id.as_deref(),
        Event::new("security.lockout").target("customer", c.id),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The second step for an account with TOTP: a code (or recovery code) raises the session.
/// Returns the rotated session token, or None for a wrong code.
pub async fn second_factor(core: &Core, session: &SessionRow, code: &str) -> Result<Option<String>> {
    let now = core.now();
    let Some(subject) = session.subject() else { return Ok(None) };
    if !totp::verify(core, subject, code, now).await? {
        return Ok(None);
    }
    Ok(Some(sessions::rotate(core, session.id, Stage::Active, now).await?))
}
