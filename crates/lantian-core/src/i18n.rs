//! Languages: zh-CN (default) and English, from Fluent files embedded in the binary. Pages,
//! e-mails and in-site notices all draw their words from here; SMS never does (vendors take
//! approved template codes and parameters only).
//!
//! The language of a request comes from the user's own setting, then the preference cookie,
//! then Accept-Language, then `i18n.default_locale`.

use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use unic_langid::LanguageIdentifier;

static_loader! {
    pub static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // Fluent would wrap arguments in invisible Unicode isolation marks; they end up in
        // e-mail subjects and page titles as garbage.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static ZH_CN: LazyLock<LanguageIdentifier> = LazyLock::new(|| unic_langid::langid!("zh-CN"));
static EN: LazyLock<LanguageIdentifier> = LazyLock::new(|| unic_langid::langid!("en"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The message key of the language's own name.
    pub fn label_key(self) -> &'static str {
        match self {
            Lang::ZhCn => "lang-zh-CN",
            Lang::En => "lang-en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh-CN" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::ZhCn => &ZH_CN,
            Lang::En => &EN,
        }
    }

    /// The best of our languages for an Accept-Language header, if any fits.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(20) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::ZhCn
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// The translator handed to every template as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The message `key`. A missing key shows the key itself (and a test fails on it).
    pub fn t(&self, key: &str) -> String {
        LOCALES.try_lookup(self.lang.id(), key).unwrap_or_else(|| key.to_string())
    }

    /// The message `key` with named arguments.
    pub fn t_args(&self, key: &str, args: &std::collections::BTreeMap<String, String>) -> String {
        let args: std::collections::HashMap<std::borrow::Cow<'static, str>, FluentValue<'_>> =
            args.iter().map(|(k, v)| (std::borrow::Cow::Owned(k.clone()), FluentValue::from(v.as_str()))).collect();
        LOCALES.try_lookup_with_args(self.lang.id(), key, &args).unwrap_or_else(|| key.to_string())
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        let mut args = std::collections::HashMap::new();
        args.insert(std::borrow::Cow::Owned(name.to_string()), FluentValue::from(value.to_string()));
        LOCALES.try_lookup_with_args(self.lang.id(), key, &args).unwrap_or_else(|| key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr;q=1,zh-TW;q=0.5,en;q=0.4"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn arguments_carry_no_isolation_marks() {
        let s = Tr::new(Lang::En).t1("error-status", "status", 404);
        assert!(s.contains("404") && !s.contains('\u{2068}'), "{s:?}");
    }
}
