//! Lantian's web server: public site, customer portal, staff console and JSON API over
//! `lantian-core`. Handlers extract input, call one service function, and render.

pub mod api;
pub mod app;
mod assets;
pub mod auth;
pub mod cli;
pub mod demo;
pub mod error;
mod metrics;
pub mod middleware;
pub mod pages;
mod server;
pub mod telemetry;
mod tls;

pub use app::{AppState, Application, router};

/// The allocator of every program built on this crate (the `lantian` binary, tests, benches).
/// A request allocates on one thread what another frees (the access log's rows end on the
/// database thread; sqlx moves results between threads), which glibc's malloc handles slowly:
/// under callgrind it was some 25,000 instructions of every logged request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
