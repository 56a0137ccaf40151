//! The API key login (`POST /api/v1/auth`, AuthController::auth and
//! ClientModel::apiAuth) and the bearer check in front of every console call.

use std::hash::{BuildHasher, RandomState};

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::params::Params;
use super::{Shared, reply};

/// `username` is the account's e-mail or phone (4 to 20 characters, as the
/// real validator wants), `password` an API key of the account.
pub(super) fn login(shared: &Shared, params: &Params) -> Value {
    let (Some(username), Some(password)) = (params.text("username"), params.text("password")) else {
        return reply::fail(400, "鉴权失败");
    };
    if !(4..=20).contains(&username.chars().count()) {
        return reply::fail(400, "鉴权失败");
    }
    if shared.faults.logins_refused() || username != shared.username || password != shared.api_key {
        return reply::fail(400, "账号或API密钥错误");
    }
    let epoch = shared.faults.token_epoch();
    let mut store = shared.store();
    let serial = store.tokens.len();
    // Unique across fakes and runs; shaped like a JWT only for looks.
    let tag = RandomState::new().hash_one(serial);
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.fake{epoch}n{serial}.{tag:016x}");
    store.tokens.insert(jwt.clone(), epoch);
    reply::ok("登录成功", json!({ "jwt": jwt }))
}

/// A token this fake issued, in the current epoch (see
/// [`super::ZjmfFaults::expire_token_now`]).
pub(super) fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(jwt) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    shared.store().tokens.get(jwt) == Some(&shared.faults.token_epoch())
}
