//! The customer portal's frame. Its sections (services, billing, support, privacy) arrive
//! with their areas; until a customer signs in, the overview says what the portal offers.

use askama::Template;
use axum::Extension;
use axum::response::Response;

use super::{Area, Layout, render};
use crate::middleware::RequestContext;
use lantian_core::i18n::Tr;

#[derive(Template)]
#[template(path = "portal/overview.html")]
struct Overview {
    t: Tr,
    l: Layout,
}

pub async fn overview(Extension(ctx): Extension<RequestContext>) -> Response {
    render(&Overview { t: Tr::new(ctx.lang), l: Layout::from_ctx(&ctx, "/account", Area::Portal) })
}
