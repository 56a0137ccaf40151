//! The jobs outbox: exclusive claims, retries with back-off, dead jobs, parking, dedupe,
//! periodic tasks once per period across instances, and two worker processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lantian_core::jobs::{self, ClaimedJob, JobError, JobHandler, JobOutcome, JobState, NewJob, Registry};
use lantian_core::{Core, on_read};

/// Counts how often each job ran, and behaves as told by its payload.
#[derive(Clone, Default)]
struct Probe {
    runs: Arc<Mutex<HashMap<i64, u32>>>,
}

#[async_trait]
impl JobHandler for Probe {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let n = {
            let mut runs = self.runs.lock().unwrap();
            let n = runs.entry(job.id).or_default();
            *n += 1;
            *n
        };
        match job.payload.as_str() {
            "\"fail\"" => Err(JobError::Retry("upstream said no".into())),
            "\"fatal\"" => Err(JobError::Permanent("cannot ever work".into())),
            "\"park-once\"" if n == 1 => Ok(JobOutcome::ParkUntil(core.now().plus(Duration::from_secs(600)))),
            _ => {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(JobOutcome::Done)
            }
        }
    }
}

fn registry(probe: &Probe) -> Registry {
    let mut r = Registry::standard();
    r.register("test.probe", probe.clone());
    r
}

async fn enqueue(core: &Core, payload: &str, n: usize) -> Vec<i64> {
    let mut tx = core.db.begin().await.unwrap();
    let mut ids = vec![];
    for _ in 0..n {
        let job = NewJob::new("test.probe", &payload, core.now()).unwrap();
        ids.push(jobs::enqueue(&mut tx, core, job, core.now()).await.unwrap().unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

db_test!(four_workers_never_run_the_same_job, |app| {
    let probe = Probe::default();
    let ids = enqueue(&app.core, "ok", 120).await;
    let workers: Vec<_> = (0..4).map(|_| app.worker_with(registry(&probe))).collect();
    let mut set = tokio::task::JoinSet::new();
    for w in workers {
        set.spawn(async move { w.drain().await.unwrap() });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.unwrap();
    }
    assert_eq!(total, 120);
    let runs = probe.runs.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1), "job {id} ran {:?} times", runs.get(id));
        let row = jobs::get(&app.core.db, *id).await.unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("done", 1));
    }
});

db_test!(failing_job_backs_off_then_dies_and_can_be_retried, |app| {
    let probe = Probe::default();
    let w = app.worker_with(registry(&probe));
    let id = enqueue(&app.core, "fail", 1).await[0];
    assert_eq!(w.step().await.unwrap(), 1);
    let row = jobs::get(&app.core.db, id).await.unwrap();
    assert_eq!(row.state, "queued");
    assert_eq!(row.last_error.as_deref(), Some("upstream said no"));
    // Back-off: not due again at once (base 10 s with jitter: at least 5 s).
    assert!(row.run_at >= app.core.now().plus(Duration::from_secs(5)), "{:?}", row.run_at);
    assert_eq!(w.step().await.unwrap(), 0);
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(61));
        assert_eq!(w.step().await.unwrap(), 1);
    }
    let row = jobs::get(&app.core.db, id).await.unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("dead", 3), "max_attempts is 3 in tests");
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(w.step().await.unwrap(), 0, "a dead job stays dead");
    let dead = jobs::list(&app.core.db, JobState::Dead, 10).await.unwrap();
    assert_eq!(dead.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);

    jobs::retry_dead(&app.core, &lantian_core::authz::Principal::System, id, None, app.core.now()).await.unwrap();
    assert!(matches!(
        jobs::retry_dead(&app.core, &lantian_core::authz::Principal::System, id, None, app.core.now()).await,
        Err(lantian_core::Error::NotFound)
    ));
    assert_eq!(w.step().await.unwrap(), 1);
    assert_eq!(probe.runs.lock().unwrap()[&id], 4);
});

db_test!(permanent_failure_and_unknown_kind_go_straight_to_dead, |app| {
    let probe = Probe::default();
    let w = app.worker_with(registry(&probe));
    let id = enqueue(&app.core, "fatal", 1).await[0];
    let mut tx = app.core.db.begin().await.unwrap();
    let unknown =
        jobs::enqueue(&mut tx, &app.core, NewJob::new("no.such.kind", &1, app.core.now()).unwrap(), app.core.now())
            .await
            .unwrap()
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.step().await.unwrap(), 2);
    for (id, msg) in [(id, "cannot ever work"), (unknown, "no handler for job kind `no.such.kind`")] {
        let row = jobs::get(&app.core.db, id).await.unwrap();
        assert_eq!((row.state.as_str(), row.attempts, row.last_error.as_deref()), ("dead", 1, Some(msg)));
    }
});

db_test!(parked_job_waits_without_using_an_attempt, |app| {
    let probe = Probe::default();
    let w = app.worker_with(registry(&probe));
    let id = enqueue(&app.core, "park-once", 1).await[0];
    assert_eq!(w.step().await.unwrap(), 1);
    let row = jobs::get(&app.core.db, id).await.unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 0));
    assert_eq!(row.run_at, app.core.now().plus(Duration::from_secs(600)));
    app.clock.advance(Duration::from_secs(599));
    assert_eq!(w.step().await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(w.step().await.unwrap(), 1);
    assert_eq!(jobs::get(&app.core.db, id).await.unwrap().state, "done");
});

db_test!(a_lapsed_claim_is_taken_over_and_the_late_result_discarded, |app| {
    let probe = Probe::default();
    let id = enqueue(&app.core, "ok", 1).await[0];
    // A worker claims the job and dies: simulate by claiming through a worker whose handler
    // never gets to finish, i.e. claim directly, then let the lease run out.
    let lease = app.core.config.jobs.lease_secs;
    let mut tx = app.core.db.begin().await.unwrap();
    let until = app.core.now().plus(Duration::from_secs(lease));
    let sql = "UPDATE jobs SET state = 'running', locked_by = 'dead-worker', attempts = 1, run_at = $1 WHERE id = $2";
    lantian_core::on_tx!(&mut tx, c => sqlx::query(sql).bind(until).bind(id).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
    let w = app.worker_with(registry(&probe));
    assert_eq!(w.step().await.unwrap(), 0, "still claimed");
    app.clock.advance(Duration::from_secs(lease + 1));
    assert_eq!(w.step().await.unwrap(), 1, "the lapsed claim is taken over");
    let row = jobs::get(&app.core.db, id).await.unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("done", 2));
    assert_eq!(row.finished_by.as_deref(), Some(w.id()));
});

db_test!(dedupe_key_makes_one_job, |app| {
    let now = app.core.now();
    let mut tx = app.core.db.begin().await.unwrap();
    let a = jobs::enqueue(&mut tx, &app.core, NewJob::new("test.probe", &1, now).unwrap().dedupe("order-42"), now)
        .await
        .unwrap();
    let b = jobs::enqueue(&mut tx, &app.core, NewJob::new("test.probe", &2, now).unwrap().dedupe("order-42"), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(a.is_some());
    assert_eq!(b, None);
});

db_test!(periodic_task_runs_once_per_period_across_instances, |app| {
    let a = app.worker();
    let b = app.worker();
    let (mut seen_a, mut seen_b) = (HashMap::new(), HashMap::new());
    let mut ran = 0;
    for _ in 0..6 {
        let (ra, rb) = tokio::join!(a.run_periodic(&mut seen_a), b.run_periodic(&mut seen_b));
        ran += ra.unwrap() + rb.unwrap();
        // A second look within the same period runs nothing.
        ran += a.run_periodic(&mut seen_a).await.unwrap();
        app.clock.advance(Duration::from_secs(3600));
    }
    let sql =
        "SELECT COUNT(*), COUNT(DISTINCT period), COUNT(finished_at) FROM periodic_runs WHERE task = 'jobs.purge'";
    let counts: (i64, i64, i64) = on_read!(&app.core.db, c => sqlx::query_as(sql).fetch_one(c).await.unwrap());
    assert_eq!(counts, (6, 6, 6), "jobs.purge runs hourly: once per hour in all");
    let all: i64 = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT COUNT(*) FROM periodic_runs").fetch_one(c).await.unwrap());
    assert_eq!(ran as i64, all, "every run claimed a period of its own");
});

db_test!(purge_deletes_finished_jobs_after_retention, |app| {
    let w = app.worker();
    let ids = lantian_web::cli::enqueue_selftest(&app.core, 3, 0).await.unwrap();
    w.drain().await.unwrap();
    let mut seen = HashMap::new();
    app.clock.advance(Duration::from_secs(29 * 86_400));
    w.run_periodic(&mut seen).await.unwrap();
    assert!(jobs::get(&app.core.db, ids[0]).await.is_ok(), "kept for 30 days");
    app.clock.advance(Duration::from_secs(2 * 86_400));
    w.run_periodic(&mut seen).await.unwrap();
    for id in ids {
        assert!(matches!(jobs::get(&app.core.db, id).await, Err(lantian_core::Error::NotFound)));
    }
});

/// Two `lantian worker` processes on one PostgreSQL database share the queue; no job runs
/// twice (each is claimed exactly once) and both do work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_on_postgres_never_run_the_same_job() {
    let Some(app) = crate::helpers::spawn_app(lantian_core::db::DbKind::Postgres).await else { return };
    let ids = lantian_web::cli::enqueue_selftest(&app.core, 400, 3).await.unwrap();
    let spawn = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_lantian"))
            .arg("worker")
            .env("LANTIAN__DATABASE__URL", &app.db.url)
            .env("LANTIAN__KEYS__INLINE", app.core.config.keys.inline.expose())
            .env("LANTIAN__JOBS__CONCURRENCY", "8")
            .env("LANTIAN__JOBS__POLL_INTERVAL_MS", "20")
            .env("LANTIAN__LOG__LEVEL", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let (mut w1, mut w2) = (spawn(), spawn());
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let sql = "SELECT COUNT(*) FROM jobs WHERE state = 'done'";
    loop {
        let done: i64 = on_read!(&app.core.db, c => sqlx::query_scalar(sql).fetch_one(c).await.unwrap());
        if done == 400 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {done} of 400 jobs done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for w in [&mut w1, &mut w2] {
        let pid = w.id().unwrap().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = tokio::time::timeout(Duration::from_secs(20), w.wait()).await.unwrap().unwrap();
        assert!(status.success(), "a worker did not stop cleanly: {status}");
    }
    let mut by_worker: HashMap<String, u32> = HashMap::new();
    for id in ids {
        let row = jobs::get(&app.core.db, id).await.unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("done", 1), "job {id}");
        *by_worker.entry(row.finished_by.unwrap()).or_default() += 1;
    }
    assert_eq!(by_worker.len(), 2, "both processes worked: {by_worker:?}");
}
