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
