//! The public cookie page (C2.1, C2.2): the three cookies, what each holds, and what happens
//! without them.

use askama::Template;
use axum::Extension;
use axum::response::Response;
use lantian_core::i18n::Tr;

use super::{Area, Layout, render};
use crate::middleware::RequestContext;

#[derive(Template)]
#[template(path = "cookies.html")]
struct CookiesPage {
    t: Tr,
    l: Layout,
}

pub async fn show(Extension(ctx): Extension<RequestContext>) -> Response {
    render(&CookiesPage { t: Tr::new(ctx.lang), l: Layout::from_ctx(&ctx, "/cookies", Area::Public) })
}
