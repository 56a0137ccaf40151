//! Synthetic data sets for benchmarks (`lantian seed --scale N`), so a measured page runs on
//! tables of a realistic size. Each area adds its own rows here as it arrives.

use crate::jobs::{self, JobState, NewJob, SELFTEST, SelfTestPayload};
use crate::{Core, Result, catalog};

/// Adds the starter regions and `scale` finished jobs (a busy outbox's history); returns the
/// number of rows written.
pub async fn generate(core: &Core, scale: u32) -> Result<u64> {
    let now = core.now();
    let mut written = catalog::seed_starter_regions(core, now).await? as u64;
    let mut left = scale;
    while left > 0 {
        let batch = left.min(1000);
        let mut tx = core.db.begin().await?;
        for _ in 0..batch {
            let job = NewJob::new(SELFTEST, &SelfTestPayload { work_ms: 0 }, now)?;
            if let Some(id) = jobs::enqueue(&mut tx, core, job, now).await? {
                jobs::repo::set_state(&mut tx, id, JobState::Done).await?;
                written += 1;
            }
        }
        tx.commit().await?;
        left -= batch;
    }
    Ok(written)
}
