//! The preference cookie: language, theme and density, for visitors and signed-in users alike. It is
//! one of the three cookies the site ever sets (session, remember-me, preferences).

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::HeaderValue;
use http::header::SET_COOKIE;
use serde::Deserialize;

use crate::AppState;
use lantian_core::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow the operating system (prefers-color-scheme).
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn parse(s: &str) -> Option<Theme> {
        match s {
            "auto" => Some(Theme::Auto),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }
}

/// Layout density: comfortable (default) or compact (denser tables and forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Density {
    #[default]
    Comfortable,
    Compact,
}

impl Density {
    pub fn as_str(self) -> &'static str {
        match self {
            Density::Comfortable => "comfortable",
            Density::Compact => "compact",
        }
    }

    fn parse(s: &str) -> Option<Density> {
        match s {
            "comfortable" => Some(Density::Comfortable),
            "compact" => Some(Density::Compact),
            _ => None,
        }
    }
}

/// Everything the preference cookie holds: language and layout, nothing else (C2.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Prefs {
    pub lang: Option<Lang>,
    pub theme: Theme,
    pub density: Density,
}

impl Prefs {
    /// Reads `name=lang.en-theme.dark` style values; anything unknown is ignored.
    pub fn from_cookie_header<'a>(headers: impl Iterator<Item = &'a str>, name: &str) -> Prefs {
        let mut prefs = Prefs::default();
        let value = headers
            .flat_map(|h| h.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v);
        for part in value.unwrap_or("").split('&') {
            match part.split_once(':') {
                Some(("lang", v)) => prefs.lang = Lang::from_code(v),
                Some(("theme", v)) => prefs.theme = Theme::parse(v).unwrap_or_default(),
                Some(("density", v)) => prefs.density = Density::parse(v).unwrap_or_default(),
                _ => {}
            }
        }
        prefs
    }

    fn to_cookie_value(self) -> String {
        let mut parts = vec![format!("theme:{}", self.theme.as_str())];
        if self.density == Density::Compact {
            parts.push("density:compact".into());
        }
        if let Some(l) = self.lang {
            parts.push(format!("lang:{}", l.code()));
        }
        parts.join("&")
    }
}

#[derive(Debug, Deserialize)]
pub struct PrefsForm {
    lang: Option<String>,
    theme: Option<String>,
    density: Option<String>,
    back: Option<String>,
}

/// Only a path on this site: never `//host` or a full URL (no open redirect).
fn safe_back(back: Option<&str>) -> &str {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') && b.len() <= 512 => b,
        _ => "/",
    }
}

/// The `Set-Cookie` value that stores `prefs`.
pub fn cookie_header(state: &AppState, prefs: Prefs) -> Option<HeaderValue> {
    let secure = if state.web.https { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}",
        state.web.prefs_cookie,
        prefs.to_cookie_value()
    );
    HeaderValue::from_str(&cookie).ok()
}

/// Makes a signed-in customer's own language setting the page language on this device (it is
/// carried in the preference cookie from then on).
pub fn adopt_language(state: &AppState, res: &mut Response, current: Prefs, lang: Lang) {
    if let Some(v) = cookie_header(state, Prefs { lang: Some(lang), ..current }) {
        res.headers_mut().append(SET_COOKIE, v);
    }
}

pub async fn update(
    State(state): State<AppState>,
    ctx: axum::Extension<crate::middleware::RequestContext>,
    headers: http::HeaderMap,
    Form(form): Form<PrefsForm>,
) -> Response {
    let mut prefs = ctx.prefs;
    if let Some(l) = form.lang.as_deref().and_then(Lang::from_code) {
        prefs.lang = Some(l);
        // A signed-in customer's choice is also their account's setting (e-mails follow it).
        remember_language(&state, &headers, l).await;
    }
    if let Some(t) = form.theme.as_deref().and_then(Theme::parse) {
        prefs.theme = t;
    }
    if let Some(d) = form.density.as_deref().and_then(Density::parse) {
        prefs.density = d;
    }
    let mut res = Redirect::to(safe_back(form.back.as_deref())).into_response();
    if let Some(v) = cookie_header(&state, prefs) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    res
}

async fn remember_language(state: &AppState, headers: &http::HeaderMap, lang: Lang) {
    let Some(token) = crate::auth::cookie(headers, state.web.session_cookie) else { return };
    let Ok(Some(session)) = lantian_core::sessions::lookup(&state.core, token, state.core.now()).await else { return };
    if let Some(s) = session.subject().filter(|s| s.kind == lantian_core::authz::SubjectKind::Customer)
        && let Err(e) = lantian_core::accounts::set_lang(&state.core, s.id, lang).await
    {
        tracing::warn!(error = %e, "could not save the customer's language");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_garbage() {
        let p = Prefs { lang: Some(Lang::En), theme: Theme::Dark, density: Density::Compact };
        let header = format!("a=b; lantian_prefs={}; c=d", p.to_cookie_value());
        let back = Prefs::from_cookie_header([header.as_str()].into_iter(), "lantian_prefs");
        assert_eq!(back.lang, Some(Lang::En));
        assert_eq!(back.theme, Theme::Dark);
        assert_eq!(back.density, Density::Compact);
        let junk = Prefs::from_cookie_header(["lantian_prefs=lang:xx&theme:neon&%%"].into_iter(), "lantian_prefs");
        assert_eq!(junk.lang, None);
        assert_eq!(junk.theme, Theme::Auto);
    }

    #[test]
    fn back_is_a_local_path_only() {
        assert_eq!(safe_back(Some("/account")), "/account");
        assert_eq!(safe_back(Some("//evil.example")), "/");
        assert_eq!(safe_back(Some("https://evil.example")), "/");
        assert_eq!(safe_back(Some("/\\evil")), "/");
        assert_eq!(safe_back(None), "/");
    }
}
