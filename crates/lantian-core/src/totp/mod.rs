//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock
//! skew), for staff (required) and customers (optional). A code is accepted once: the step it
//! matched is recorded and a code of that step or an earlier one is refused. Recovery codes are
//! single-use and stored only as keyed hashes. The secret is sealed with the key ring.

mod repo;

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::authz::Subject;
use crate::crypto::Aad;
use crate::{Core, Error, Result, UnixMs};

const ISSUER: &str = "Lantian";
const RECOVERY_CODES: usize = 10;

/// What the enrolment page shows: the QR code, and the secret for typing in by hand.
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

fn aad(row: &str) -> Aad<'_> {
    Aad { table: "totp_factors", column: "secret", row }
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| Error::Internal(anyhow::anyhow!("TOTP: {e}")))
}

fn enrolment(secret: Vec<u8>, account: &str) -> Result<Enrolment> {
    let t = totp(secret, account)?;
    let url = t.to_url().map_err(|e| Error::Internal(anyhow::anyhow!("TOTP URL: {e}")))?;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| Error::Internal(anyhow::anyhow!("QR: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    // Inline in the page: drop the XML prolog.
    let svg = svg.find("<svg").map(|i| svg[i..].to_string()).unwrap_or(svg);
    Ok(Enrolment { secret_base32: t.secret().to_base32(), otpauth_url: url, qr_svg: svg })
}

/// Starts (or restarts) an enrolment with a fresh secret. The factor is not enabled until a
/// code confirms it.
pub async fn begin(core: &Core, subject: Subject, account: &str, now: UnixMs) -> Result<Enrolment> {
    let mut raw = vec![0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    let row = subject.key();
    let sealed = core.keys.seal(&raw, aad(&row));
    let mut tx = core.db.begin().await?;
    if !repo::upsert_pending(&mut tx, subject, &sealed, now).await? {
        return Err(Error::Conflict("two-factor authentication is already enabled"));
    }
    tx.commit().await?;
    enrolment(raw, account)
}

/// The enrolment in progress, to show it again (after a reload or a wrong code).
pub async fn pending(core: &Core, subject: Subject, account: &str) -> Result<Option<Enrolment>> {
    let Some(f) = repo::get(&core.db, subject).await? else { return Ok(None) };
    if f.enabled_at.is_some() {
        return Ok(None);
    }
    let secret = open_secret(core, subject, &f.secret)?;
    enrolment(secret.to_vec(), account).map(Some)
}

fn open_secret(core: &Core, subject: Subject, sealed: &str) -> Result<Zeroizing<Vec<u8>>> {
    let row = subject.key();
    core.keys.open(sealed, aad(&row)).map_err(|e| Error::Internal(anyhow::anyhow!("TOTP secret of {row}: {e}")))
}

/// The step a code matches now, if any.
fn matching_step(core: &Core, subject: Subject, sealed: &str, code: &str, now: UnixMs) -> Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let secret = open_secret(core, subject, sealed)?;
    let t = totp(secret.to_vec(), "x")?;
    let secs = u64::try_from(now.0 / 1000).unwrap_or(0);
    Ok(t.check(&code, secs).and_then(|step| i64::try_from(step).ok()))
}

/// Confirms the enrolment with a first code; returns the recovery codes, shown once.
pub async fn confirm(core: &Core, subject: Subject, code: &str, now: UnixMs) -> Result<Vec<String>> {
    let f = repo::get(&core.db, subject).await?.ok_or(Error::NotFound)?;
    if f.enabled_at.is_some() {
        return Err(Error::Conflict("two-factor authentication is already enabled"));
    }
    let Some(step) = matching_step(core, subject, &f.secret, code, now)? else {
        return Err(Error::validation("code", "totp-wrong"));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let mut tx = core.db.begin().await?;
    if !repo::enable(&mut tx, subject, step, now).await? {
        return Err(Error::Conflict("two-factor authentication is already enabled"));
    }
    repo::replace_recovery_codes(&mut tx, subject, &hashes(core, &codes), now).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Checks a code from the authenticator app, or a recovery code (used up by this check).
/// A replayed code, a wrong code and a used recovery code are all simply refused.
pub async fn verify(core: &Core, subject: Subject, code: &str, now: UnixMs) -> Result<bool> {
    let Some(f) = repo::get(&core.db, subject).await? else { return Ok(false) };
    if f.enabled_at.is_none() {
        return Ok(false);
    }
    let mut tx = core.db.begin().await?;
    let ok = match matching_step(core, subject, &f.secret, code, now)? {
        // Conditional on the step being newer than the last one accepted: replays fail here,
        // even when two instances check the same code at the same moment.
        Some(step) => repo::advance_step(&mut tx, subject, step).await?,
        None => repo::use_recovery_code(&mut tx, subject, &recovery_hash(core, code), now).await?,
    };
    tx.commit().await?;
    Ok(ok)
}

pub async fn is_enabled(core: &Core, subject: Subject) -> Result<bool> {
    Ok(repo::get(&core.db, subject).await?.is_some_and(|f| f.enabled_at.is_some()))
}

pub async fn unused_recovery_codes(core: &Core, subject: Subject) -> Result<i64> {
    Ok(repo::count_unused(&core.db, subject).await?)
}

/// Ten characters from an alphabet without look-alikes, shown as `xxxxx-xxxxx`.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let s: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Keyed hash: a stolen database alone does not allow guessing codes offline.
fn recovery_hash(core: &Core, code: &str) -> String {
    core.keys.blind_index("recovery_code", &normalise(code))
}

fn hashes(core: &Core, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| recovery_hash(core, c)).collect()
}

/// The code an authenticator would show at `now` (for tests and the demo's self-check).
pub fn code_at(secret_base32: &str, now: UnixMs) -> Result<String> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    let t = totp(secret.as_bytes().to_vec(), "x")?;
    Ok(t.generate(u64::try_from(now.0 / 1000).unwrap_or(0)).to_string())
}
