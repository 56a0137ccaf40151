//! The domain of Lantian (蓝天云): everything the platform knows and decides, with no HTTP.
//!
//! Each area lives in its own folder (`catalog/`, `jobs/`, later `accounts/`, `billing/` ...):
//! types and service functions in `mod.rs`, SQL only in `repo.rs`. Service functions take the
//! time as an input (`now`), so tests move a [`clock::ManualClock`] instead of sleeping.

pub mod backup;
pub mod bench_data;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;

use std::sync::Arc;

pub use clock::{Clock, UnixMs};
pub use config::Config;
pub use db::Db;
pub use error::{Error, Result};

/// What every service function needs: the database, the settings and the clock.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
}

impl Core {
    pub fn new(db: Db, config: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        Self { db, config, clock }
    }

    pub fn now(&self) -> UnixMs {
        self.clock.now()
    }
}
