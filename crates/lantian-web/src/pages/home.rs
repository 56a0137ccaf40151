//! The public home page.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use lantian_core::catalog::{self, Region};

use super::{Area, Layout, render};
use crate::AppState;
use crate::error::WebError;
use crate::middleware::RequestContext;
use lantian_core::i18n::Tr;

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage {
    t: Tr,
    l: Layout,
    regions: Vec<Region>,
}

impl HomePage {
    fn region_name<'a>(&self, r: &'a Region) -> &'a str {
        if self.l.is_lang("en") { &r.name_en } else { &r.name_zh }
    }
}

pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, WebError> {
    let regions = catalog::list_regions(&state.core.db, 0, 100).await?;
    Ok(render(&HomePage { t: Tr::new(ctx.lang), l: Layout::from_ctx(&ctx, "/", Area::Public), regions }))
}
