//! The customer side: sign-up, sign-in, the links sent by mail, and the account centre.

mod access;
mod centre;
mod settings;
mod tokens;

use axum::Router;
use axum::routing::{get, post};

use super::{Area, Layout, render};
use crate::AppState;
use crate::middleware::RequestContext;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(access::register_form).post(access::register))
        .route("/verify-email", get(access::verify_email))
        .route("/login", get(access::login_form).post(access::login))
        .route("/login/second-factor", get(access::second_factor_form).post(access::second_factor))
        .route("/logout", post(access::logout))
        .route("/forgot-password", get(access::forgot_form).post(access::forgot))
        .route("/reset-password", get(access::reset_form).post(access::reset))
        .route("/confirm-email", get(access::confirm_email))
        .route("/account", get(centre::overview))
        .route("/account/resend-verification", post(centre::resend_verification))
        .route("/account/sessions/{id}/end", post(centre::end_session))
        .route("/account/sessions/end-all", post(centre::end_all_sessions))
        .route("/account/profile", get(settings::profile_form).post(settings::save_profile))
        .route("/account/security", get(settings::security).post(settings::change_email))
        .route("/account/security/totp", post(settings::enable_totp))
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route("/account/tokens/{id}/revoke", post(tokens::revoke))
}

/// A page with a title, a message and an optional link: the answer of many small steps.
#[derive(askama::Template)]
#[template(path = "account/message.html")]
pub struct MessagePage {
    pub t: lantian_core::i18n::Tr,
    pub l: Layout,
    pub title: String,
    pub text: String,
    pub link: Option<(String, String)>,
}

pub fn message(
    ctx: &RequestContext,
    title_key: &str,
    text_key: &str,
    link: Option<(&str, &str)>,
) -> axum::response::Response {
    let t = lantian_core::i18n::Tr::new(ctx.lang);
    let page = MessagePage {
        title: t.t(title_key),
        text: t.t(text_key),
        link: link.map(|(href, key)| (href.to_string(), t.t(key))),
        l: Layout::from_ctx(ctx, "/", Area::Portal),
        t,
    };
    render(&page)
}

pub use super::refused;
