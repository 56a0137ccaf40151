//! The upload of a guardian's signed consent: a multipart form with the guardian's name, the
//! relationship and the document. The document's type is decided from its bytes by the core.

use axum::extract::multipart::{Field, Multipart};
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Redirect, Response};
use lantian_core::Error;
use lantian_core::i18n::Tr;
use lantian_core::kyc::guardian::{self, Upload};

use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;

/// The form's parts; unknown parts are ignored.
#[derive(Default)]
struct Parts {
    guardian_name: String,
    relationship: String,
    document: Vec<u8>,
}

/// Reads the parts; a body over the limit or broken multipart is the customer's error.
async fn read(mut form: Multipart) -> Result<Parts, Error> {
    let mut parts = Parts::default();
    let too_big = || Error::validation("document", "guardian-document-size");
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name() {
            Some("guardian_name") => parts.guardian_name = text(field).await?,
            Some("relationship") => parts.relationship = text(field).await?,
            Some("document") => parts.document = field.bytes().await.map_err(|_| too_big())?.to_vec(),
            _ => {}
        }
    }
    Ok(parts)
}

async fn text(field: Field<'_>) -> Result<String, Error> {
    let v = field.text().await.map_err(|_| Error::validation("guardian_name", "real-name-invalid"))?;
    Ok(v.chars().take(100).collect())
}

pub async fn upload(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    form: Multipart,
) -> Result<Response, WebError> {
    let uploaded = match read(form).await {
        Ok(p) => {
            let u = Upload { guardian_name: &p.guardian_name, relationship: &p.relationship, document: &p.document };
            guardian::upload(&state.core, c.customer.id, &u, &c.meta, state.core.now()).await
        }
        Err(e) => Err(e),
    };
    match uploaded {
        Ok(_) => Ok(Redirect::to("/account/real-name?result=guardian").into_response()),
        Err(Error::Validation { code, .. } | Error::Conflict(code)) => {
            let error = Some(Tr::new(ctx.lang).t(&format!("invalid-{code}")));
            super::real_name_page(&state, &ctx, c.customer.id, None, error).await
        }
        Err(e) => Err(WebError(e)),
    }
}
