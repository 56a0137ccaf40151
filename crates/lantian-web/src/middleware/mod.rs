//! The request pipeline: ids, security headers, limits, client context, CSRF, error pages.

pub mod access_log;
pub mod csrf;
pub mod errors;
pub mod request;
pub mod security;

pub use request::RequestContext;
