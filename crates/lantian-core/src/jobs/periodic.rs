//! Periodic tasks: each period of each task is claimed by inserting its row into
//! `periodic_runs`, so exactly one instance runs it, however many there are.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{Core, Result, UnixMs};

#[async_trait]
pub trait Periodic: Send + Sync + 'static {
    async fn run(&self, core: &Core) -> Result<()>;
}

#[derive(Clone)]
pub struct PeriodicTask {
    pub name: &'static str,
    pub every: Duration,
    pub(super) job: Arc<dyn Periodic>,
}

impl PeriodicTask {
    pub fn new(name: &'static str, every: Duration, job: impl Periodic) -> Self {
        PeriodicTask { name, every, job: Arc::new(job) }
    }

    pub fn period_of(&self, now: UnixMs) -> i64 {
        now.period(self.every)
    }
}
