//! Synthetic data sets for benchmarks (`lantian seed --scale N`), so a measured page runs on
//! tables of a realistic size. Each area adds its own rows here as it arrives.

use crate::accounts::{self, AgeBracket, NewCustomer, Registered};
use crate::authz::Subject;
use crate::i18n::Lang;
use crate::jobs::{self, JobState, NewJob, SELFTEST, SelfTestPayload};
use crate::sessions::{self, Stage};
use crate::{Core, Error, RequestMeta, Result, catalog};

/// What a benchmark needs to act as a signed-in customer.
pub struct Generated {
    pub rows: u64,
    /// The session token of the customer `bench`, for the account-page scenarios.
    pub session: String,
}

/// Adds the starter regions, `scale` finished jobs (a busy outbox's history) and a customer
/// `bench` with a live session.
pub async fn generate(core: &Core, scale: u32) -> Result<Generated> {
    let rows = history(core, scale).await?;
    let input = NewCustomer {
        username: "bench",
        email: "bench@bench.example",
        password: "seed-lantern-harbour-42",
        age: AgeBracket::Adult,
        accepted_policy: true,
        lang: Lang::ZhCn,
    };
    let id = match accounts::register(core, input, &RequestMeta::default()).await? {
        Registered::Created { id } => id,
        Registered::TooYoung => return Err(Error::Internal(anyhow::anyhow!("bench customer refused"))),
    };
    let meta = RequestMeta { user_agent: Some("wrk".into()), ip: Some("127.0.0.1".into()), request_id: None };
    let (session, _) = sessions::start(core, Subject::customer(id), Stage::Active, &meta, core.now()).await?;
    Ok(Generated { rows: rows + 1, session })
}

async fn history(core: &Core, scale: u32) -> Result<u64> {
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
