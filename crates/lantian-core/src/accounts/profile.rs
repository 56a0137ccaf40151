//! The optional contact data of C1.6: phone (sealed), QQ, country / province / city, and the
//! SMS consent beside the phone. Nothing in the product requires any of them; a cleared value
//! is set to NULL, gone from the row.

use super::repo;
use crate::authz::Subject;
use crate::consents::{self, Given, Purpose};
use crate::crypto::Aad;
use crate::i18n::Lang;
use crate::phone::{self, PhoneChange};
use crate::{Core, Error, RequestMeta, Result, audit};

/// What the account centre shows: the phone masked.
pub struct Profile {
    pub phone_masked: Option<String>,
    pub qq: Option<String>,
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub lang: Lang,
    pub sms_consent: bool,
}

pub struct ProfileInput<'a> {
    pub phone: PhoneChange<'a>,
    pub qq: &'a str,
    pub country: &'a str,
    pub province: &'a str,
    pub city: &'a str,
    pub lang: Lang,
    pub sms_consent: bool,
}

fn aad(row: &str) -> Aad<'_> {
    Aad { table: "customers", column: "phone", row }
}

/// The phone in clear, for sending only.
pub fn phone_of(core: &Core, c: &repo::Customer) -> Result<Option<String>> {
    let Some(sealed) = &c.phone else { return Ok(None) };
    let row = Subject::customer(c.id).key();
    let p =
        core.keys.open_str(sealed, aad(&row)).map_err(|e| Error::Internal(anyhow::anyhow!("phone of {row}: {e}")))?;
    Ok(Some(p.to_string()))
}

pub async fn profile(core: &Core, id: i64) -> Result<Profile> {
    let c = super::get(core, id).await?;
    let sms_consent = consents::current(&core.db, Subject::customer(id), Purpose::SmsNotices).await?.is_some();
    Ok(Profile {
        phone_masked: phone_of(core, &c)?.map(|p| crate::crypto::mask::phone(&p)),
        qq: c.qq,
        country: c.country,
        province: c.province,
        city: c.city,
        lang: Lang::from_code(&c.lang).unwrap_or_default(),
        sms_consent,
    })
}

/// Trims; empty means "none"; refuses control characters and over-long text.
fn optional(field: &'static str, v: &str, max: usize) -> Result<Option<String>> {
    let v = v.trim();
    if v.chars().count() > max || v.chars().any(char::is_control) || v.contains(['<', '>']) {
        return Err(Error::validation(field, "text-invalid"));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

pub async fn update_profile(core: &Core, id: i64, input: ProfileInput<'_>, meta: &RequestMeta) -> Result<()> {
    let c = super::get(core, id).await?;
    let row_key = Subject::customer(id).key();
    let phone = match input.phone {
        PhoneChange::Keep => c.phone.clone(),
        PhoneChange::Remove => None,
        PhoneChange::Set(p) => Some(core.keys.seal_str(&phone::normalise(p)?, aad(&row_key))),
    };
    let qq = optional("qq", input.qq, 12)?;
    if qq.as_ref().is_some_and(|q| q.len() < 5 || !q.chars().all(|c| c.is_ascii_digit()) || q.starts_with('0')) {
        return Err(Error::validation("qq", "qq"));
    }
    let (country, province, city) = (
        optional("country", input.country, 64)?,
        optional("province", input.province, 64)?,
        optional("city", input.city, 64)?,
    );
    let now = core.now();
    let subject = Subject::customer(id);
    let mut tx = core.db.begin().await?;
    let row = repo::ProfileRow {
        phone: phone.as_deref(),
        qq: qq.as_deref(),
        country: country.as_deref(),
        province: province.as_deref(),
        city: city.as_deref(),
        lang: input.lang.code(),
    };
    repo::set_profile(&mut tx, id, &row).await?;
    // The SMS consent only makes sense with a phone; it names the vendor (C4.5, C3.2).
    let want = input.sms_consent && phone.is_some();
    let standing = consents::current_in(&mut tx, subject, Purpose::SmsNotices).await?.is_some();
    if want != standing {
        let version = consents::current_policy_version(&core.db).await?;
        let vendor = core.sms.as_ref().map(|s| s.vendor().to_string()).unwrap_or_default();
        let how = Given { detail: &vendor, ip: meta.ip.as_deref() };
        if want {
            consents::give(&mut tx, subject, Purpose::SmsNotices, version, how, now).await?;
        } else {
            consents::withdraw(&mut tx, subject, Purpose::SmsNotices, version, how, now).await?;
        }
    }
    let fields = ["phone", "qq", "country", "province", "city", "lang", "sms_notices"];
    let ev = audit::Event::new("customer.profile_update").target("customer", id).fields(&fields);
    audit::record(&mut tx, &crate::authz::Principal::Customer(id), meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(())
}
