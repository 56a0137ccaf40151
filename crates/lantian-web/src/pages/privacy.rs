//! The privacy policy as published (version 1, 2025-07-19), linked from sign-up and the footer.
//! The text is the Chinese original, reflowed from its PDF extraction into paragraphs.

use std::sync::LazyLock;

use askama::Template;
use axum::Extension;
use axum::response::Response;
use lantian_core::i18n::Tr;

use super::{Area, Layout, render};
use crate::middleware::RequestContext;

const TEXT: &str = include_str!("../../policy/privacy-policy-2025-07-19.zh-CN.txt");

/// Blank lines separate paragraphs; the PDF broke lines inside them, so lines are joined.
static PARAGRAPHS: LazyLock<Vec<String>> = LazyLock::new(|| {
    TEXT.split("\n\n").map(|p| p.lines().map(str::trim).collect::<String>()).filter(|p| !p.is_empty()).collect()
});

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    t: Tr,
    l: Layout,
    paragraphs: &'static [String],
}

pub async fn show(Extension(ctx): Extension<RequestContext>) -> Response {
    let l = Layout::from_ctx(&ctx, "/privacy", Area::Public);
    render(&PrivacyPage { t: Tr::new(ctx.lang), l, paragraphs: &PARAGRAPHS })
}
