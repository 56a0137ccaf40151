//! Server-rendered pages, one module per area. They work without JavaScript.

pub mod account;
pub mod billing;
pub mod cookies;
pub mod health;
pub mod home;
pub mod preferences;
pub mod privacy;
pub mod real_name;
pub mod services;
pub mod staff;
pub mod tokens;

use askama::Template;
use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

use crate::AppState;
use crate::middleware::RequestContext;
use lantian_core::i18n::Lang;
use preferences::Theme;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/cookies", get(cookies::show))
        .route("/privacy", get(privacy::show))
        .merge(account::routes())
        .merge(billing::routes())
        .merge(real_name::routes())
        .merge(services::routes())
        .merge(staff::routes())
}

/// Which of the three layouts a page uses: its navigation and its look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Public,
    Portal,
    Staff,
}

/// What the shared layout needs besides the translator.
pub struct Layout {
    pub area: Area,
    pub lang: Lang,
    pub theme: Theme,
    pub density: preferences::Density,
    /// The current path, where the preference forms return to.
    pub path: String,
    /// The console's navigation, for a signed-in staff member.
    pub staff: Option<staff::StaffNav>,
}

impl Layout {
    pub fn new(ctx: Option<&RequestContext>, path: &str, area: Area) -> Layout {
        let (lang, theme, density) = ctx.map(|c| (c.lang, c.prefs.theme, c.prefs.density)).unwrap_or_default();
        Layout { area, lang, theme, density, path: path.to_string(), staff: None }
    }

    pub fn from_ctx(ctx: &RequestContext, path: &str, area: Area) -> Layout {
        let p = ctx.prefs;
        Layout { area, lang: ctx.lang, theme: p.theme, density: p.density, path: path.to_string(), staff: None }
    }

    /// The form token every staff form carries.
    pub fn csrf(&self) -> &str {
        self.staff.as_ref().map(|s| s.csrf.as_str()).unwrap_or("")
    }

    pub fn is(&self, area: &str) -> bool {
        matches!((self.area, area), (Area::Public, "public") | (Area::Portal, "portal") | (Area::Staff, "staff"))
    }

    pub fn theme_attr(&self) -> &'static str {
        self.theme.as_str()
    }

    pub fn is_lang(&self, code: &str) -> bool {
        self.lang.code() == code
    }

    pub fn langs(&self) -> [Lang; 2] {
        Lang::ALL
    }
}

/// Renders a page. A template that fails to render is a bug: logged, answered 500.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A time as people read it, in the business time zone: `2026-11-29 15:30`.
pub fn format_time(time_zone: &str, at: lantian_core::UnixMs) -> String {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_timestamp().to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string()
}

/// A form page answered 422 with its field's translated error drawn in (the error-page
/// middleware leaves it alone).
pub fn refused(mut res: Response) -> Response {
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res.extensions_mut().insert(crate::middleware::errors::Rendered);
    res
}

/// The query string of a filtered list's "older" link: the next page starts before `last`
/// when this page was full; the non-empty filter fields are carried along.
pub fn older_link(full: bool, last: Option<i64>, filter: &[(&str, &str)]) -> Option<String> {
    let last = last.filter(|_| full)?;
    let params = std::iter::once(("before", last.to_string()))
        .chain(filter.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.to_string())));
    // RFC 3986 encoding, the same the Aliyun signer uses for its query strings.
    let encode = lantian_core::aliyun::acs3::percent_encode;
    Some(params.map(|(k, v)| format!("{k}={}", encode(&v))).collect::<Vec<_>>().join("&"))
}
