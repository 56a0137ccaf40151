//! Where a subject is reached, resolved when a delivery is sent (not when it is queued): a
//! changed address is used, an erased one is not.

use crate::authz::{Subject, SubjectKind};
use crate::i18n::Lang;
use crate::{Core, Result, staff};

pub struct Contact {
    pub email: Option<String>,
    /// E.164, only when the subject gave one.
    pub phone: Option<String>,
    pub lang: Lang,
}

pub async fn of(core: &Core, subject: Subject) -> Result<Option<Contact>> {
    match subject.kind {
        SubjectKind::Staff => match staff::get(core, subject.id).await {
            Ok(m) if m.active => {
                let phone = staff::phone_of(core, &m)?;
                Ok(Some(Contact { email: Some(m.email), phone, lang: Lang::ZhCn }))
            }
            Ok(_) | Err(crate::Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        },
        SubjectKind::Customer => match crate::accounts::get(core, subject.id).await {
            Ok(c) => {
                let phone = crate::accounts::phone_of(core, &c)?;
                let lang = Lang::from_code(&c.lang).unwrap_or_default();
                Ok(Some(Contact { email: Some(c.email), phone, lang }))
            }
            Err(crate::Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        },
    }
}
