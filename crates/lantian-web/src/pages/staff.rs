//! The staff console's frame.

use askama::Template;
use axum::Extension;
use axum::response::Response;

use super::{Area, Layout, render};
use crate::i18n::Tr;
use crate::middleware::RequestContext;

#[derive(Template)]
#[template(path = "staff/overview.html")]
struct Overview {
    t: Tr,
    l: Layout,
}

pub async fn overview(Extension(ctx): Extension<RequestContext>) -> Response {
    render(&Overview { t: Tr::new(ctx.lang), l: Layout::from_ctx(&ctx, "/staff", Area::Staff) })
}
