//! The `lantian` command: serve, worker, migrate, config, backup, restore, jobs, seed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use lantian_core::accesslog::AccessLogWriter;
use lantian_core::authz::{Principal, Role};
use lantian_core::clock::SystemClock;
use lantian_core::config::Config;
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db};
use lantian_core::jobs::{self, JobState, NewJob, Registry, SELFTEST, SelfTestPayload, Worker};
use lantian_core::{Core, RequestMeta, audit, backup, provisioning, staff};
use tokio_util::sync::CancellationToken;

use crate::{AppState, Application, demo, telemetry};

#[derive(Parser)]
#[command(name = "lantian", version, about = "蓝天云 Lantian: cloud-server billing, provisioning and compliance")]
pub struct Cli {
    /// A TOML file overriding config/default.toml (only the keys you change).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (and, unless jobs.in_process_worker = false, a worker).
    Serve(ServeArgs),
    /// Run a worker alone (PostgreSQL deployments with separate worker processes).
    Worker,
    /// Bring the database schema up to date, or show where it stands.
    Migrate {
        /// Only print the applied and known schema versions.
        #[arg(long)]
        status: bool,
    },
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of the SQLite database to FILE (safe while serve runs).
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup FILE (refused while it is in use).
    Restore { file: PathBuf },
    /// Inspect and operate the jobs queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Encryption keys of sensitive fields.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Run the service lifecycle once (renewal invoices, reminders, marking overdue services to
    /// be suspended or terminated; the workers then carry that out).
    Lifecycle {
        /// Run as if it were this day (YYYY-MM-DD, China Standard Time, at noon) instead of
        /// now: a demo's way to see a month pass. On a real installation it would suspend and
        /// terminate services early, so it runs only on the demo database (with `--demo`).
        #[arg(long, requires = "demo")]
        as_of: Option<String>,
        /// The database is the demo's (`serve --demo`).
        #[arg(long)]
        demo: bool,
    },
    /// Generate a synthetic data set (for benchmarks; never on a production database).
    Seed {
        /// Size of the data set: roughly this many rows per large table.
        #[arg(long, default_value_t = 10_000)]
        scale: u32,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Demo mode: SQLite under data/, demo data, and every outside service replaced by a
    /// protocol fake on loopback (with a web mailbox). Nothing leaves this machine.
    #[arg(long)]
    pub demo: bool,
    /// Listen address, overriding server.listen.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain for native TLS (with --tls-key).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for native TLS (with --tls-cert).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings, secrets redacted.
    Check,
}

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Create a staff member and print their one-time password (TOTP is set up at first login).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Shown in the console; the username if not given.
        #[arg(long)]
        name: Option<String>,
        /// owner, admin, support, billing or compliance; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit trail; names the first broken row.
    Verify,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new key file (refuses to overwrite one).
    Generate {
        #[arg(long)]
        file: PathBuf,
    },
    /// Add a new key to keys.file and make it active, then queue the re-encryption of every
    /// sealed value (it runs in the workers once they are restarted with the new file).
    Rotate,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List dead jobs (out of attempts) with their last error.
    Dead {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a dead job back in the queue with fresh attempts.
    Retry { id: i64 },
    /// Enqueue diagnostic jobs and wait until the workers have run them all.
    Selftest {
        #[arg(long, default_value_t = 100)]
        count: u32,
        /// How long each job pretends to work, in milliseconds.
        #[arg(long, default_value_t = 10)]
        work_ms: u64,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.to_redacted_toml());
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Serve(args) => {
            if let Some(listen) = args.listen {
                config.server.listen = listen;
            }
            if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
                config.server.tls_cert = cert.to_string_lossy().into_owned();
                config.server.tls_key = key.to_string_lossy().into_owned();
            }
            config.validate()?;
            serve(config, args.demo).await
        }
        Command::Worker => worker(config).await,
        Command::Migrate { status } => {
            telemetry::init(&config.log);
            let db = open(&config, if status { Access::Shared } else { Access::Exclusive }).await?;
            let s = if status { db::migration_status(&db).await? } else { db::migrate(&db).await? };
            println!("schema version {} applied, {} known to this binary", s.applied, s.known);
            Ok(())
        }
        Command::Backup { file } => {
            backup::backup_sqlite(config.database.url.expose(), &file).await?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            backup::restore_sqlite(config.database.url.expose(), &file).await?;
            println!("database restored from {}; it is migrated when Lantian next starts", file.display());
            Ok(())
        }
        Command::Jobs(cmd) => jobs_command(config, cmd).await,
        Command::Lifecycle { as_of, demo } => lifecycle_command(config, as_of, demo).await,
        Command::Staff(StaffCommand::Create { username, email, name, roles }) => {
            let roles = roles
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .with_context(|| format!("unknown role `{r}` (owner, admin, support, billing, compliance)"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let core = open_core(config).await?;
            let display_name = name.unwrap_or_else(|| username.clone());
            let input = staff::NewStaff { username, display_name, email, roles };
            let (id, password) =
                staff::create(&core, &Principal::System, input, &RequestMeta::default()).await.map_err(explain)?;
            println!(
                "staff member {id} created; one-time password (shown once, must be changed at first login):\n{password}"
            );
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let db = open(&config, Access::Shared).await?;
            match audit::verify(&db).await? {
                audit::Verdict::Intact { rows } => {
                    println!("audit trail intact: {rows} rows");
                    Ok(())
                }
                audit::Verdict::Broken { seq, why } => bail!("audit trail broken at row {seq}: {why}"),
            }
        }
        Command::Keys(KeysCommand::Generate { file }) => {
            write_new_file(&file, &KeyFile::generate().to_toml())?;
            println!(
                "key file written to {}; set keys.file to it and back it up apart from the database",
                file.display()
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => rotate_keys(config).await,
        Command::Seed { scale } => {
            let core = open_core(config).await?;
            let g = lantian_core::bench_data::generate(&core, scale).await?;
            println!("bench-session {}", g.session);
            println!("generated {} rows", g.rows);
            Ok(())
        }
    }
}

async fn open(config: &Config, access: Access) -> anyhow::Result<Db> {
    Ok(Db::open(&config.database, access).await?)
}

/// Opens the database for writing and migrates it.
async fn open_core(config: Config) -> anyhow::Result<Core> {
    let db = open(&config, Access::Exclusive).await?;
    db::migrate(&db).await?;
    core_on(db, config)
}

fn core_on(db: Db, config: Config) -> anyhow::Result<Core> {
    let keys = keyring::from_config(&config.keys).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Core::new(db, Arc::new(config), Arc::new(SystemClock), Arc::new(keys))?)
}

/// Domain errors in words for the terminal.
fn explain(e: lantian_core::Error) -> anyhow::Error {
    match e {
        lantian_core::Error::Validation { field, code } => anyhow::anyhow!("invalid {field} ({code})"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Creates `path` with owner-only permissions; refuses to replace an existing file.
fn write_new_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f =
        opts.open(path).with_context(|| format!("cannot create {} (does it exist already?)", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

async fn rotate_keys(config: Config) -> anyhow::Result<()> {
    if config.keys.file.is_empty() {
        bail!("keys rotate works on keys.file; with inline keys, rotate the secret where it is kept");
    }
    let path = PathBuf::from(&config.keys.file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut file: KeyFile = toml::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))?;
    let kid = file.rotate();
    // Beside the old file, then renamed over it: never a half-written key file.
    let staging = path.with_extension("rotating");
    let _ = std::fs::remove_file(&staging);
    write_new_file(&staging, &file.to_toml())?;
    std::fs::rename(&staging, &path)?;
    let db = open(&config, Access::Shared).await?;
    let core = core_on(db, config)?;
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let payload = jobs::RewrapPayload { target_kid: kid.clone(), batch: 200, batches_per_run: 10 };
    jobs::enqueue(&mut tx, &core, NewJob::new(jobs::REWRAP, &payload, now)?.dedupe(format!("rewrap-{kid}")), now)
        .await?;
    tx.commit().await?;
    println!(
        "key {kid} added and active in {}. Restart every Lantian process so it loads the file; \
              the re-encryption job then re-seals every value with {kid}.",
        path.display()
    );
    Ok(())
}

async fn serve(mut config: Config, demo_mode: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let shutdown = CancellationToken::new();
    Signals::install()?.cancel_on_signal(shutdown.clone());
    let clock: Arc<dyn lantian_core::Clock> = Arc::new(SystemClock);
    let mut demo = match demo_mode {
        true => Some(demo::Demo::start(&mut config, demo::fake_clock(clock.clone())).await?),
        false => None,
    };
    telemetry::init(&config.log);
    let metrics_addr = config.metrics.listen.parse().ok();
    let tls = config.tls_paths();
    let listen = config.server.listen;
    let core = open_core(config).await?;
    if let Some(d) = demo.as_mut() {
        d.seed(&core).await?;
    }
    if let Some(addr) = metrics_addr {
        crate::metrics::start(addr, shutdown.clone()).await?;
    }
    let (access_log, log_writer) = AccessLogWriter::start(core.clone());
    let state = AppState::new(core.clone(), metrics_addr.is_some(), access_log.clone());
    let app = Application::build(state, listen, tls).await?;
    let scheme = if core.config.tls_paths().is_some() { "https" } else { "http" };
    let site = format!("{scheme}://{}", app.local_addr());
    let worker = core.config.jobs.in_process_worker.then(|| {
        let w = Worker::new(core.clone(), Registry::standard());
        tokio::spawn(w.run(shutdown.child_token()))
    });
    tracing::info!(%site, ready_ms = started.elapsed().as_millis() as u64, "serving");
    match &demo {
        Some(d) => println!("{}", d.banner(&site)),
        None => println!("Lantian is serving at {site}"),
    }
    let served = app.run(shutdown.clone()).await;
    // The server has stopped: write every access-log row its requests queued.
    access_log.close().await;
    let _ = log_writer.await;
    served?;
    if let Some(w) = worker {
        let _ = w.await;
    }
    if let Some(d) = demo {
        d.stop().await;
    }
    core.db.close().await;
    Ok(())
}

async fn worker(config: Config) -> anyhow::Result<()> {
    telemetry::init(&config.log);
    let shutdown = CancellationToken::new();
    Signals::install()?.cancel_on_signal(shutdown.clone());
    let core = open_core(config).await?;
    Worker::new(core.clone(), Registry::standard()).run(shutdown).await;
    core.db.close().await;
    Ok(())
}

/// SIGINT and SIGTERM, registered before the process says it is ready, so a signal sent
/// right after that line is never missed.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    /// Cancels `token` at the first signal.
    fn cancel_on_signal(mut self, token: CancellationToken) {
        tokio::spawn(async move {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
            tracing::info!("shutting down");
            token.cancel();
        });
    }
}

async fn jobs_command(config: Config, cmd: JobsCommand) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::Dead { limit } => {
            let db = open(&config, Access::Shared).await?;
            for j in jobs::list(&db, JobState::Dead, limit.clamp(1, 1000)).await? {
                println!("{}\t{}\tattempts={}\t{}", j.id, j.kind, j.attempts, j.last_error.unwrap_or_default());
            }
            Ok(())
        }
        JobsCommand::Retry { id } => {
            // Shared: the running serve (SQLite) keeps its lock; one short write is fine.
            let db = open(&config, Access::Shared).await?;
            let core = core_on(db, config)?;
            jobs::retry_dead(&core, &Principal::System, id, None, core.now())
                .await
                .with_context(|| format!("job {id} is not a dead job"))?;
            println!("job {id} queued again");
            Ok(())
        }
        JobsCommand::Selftest { count, work_ms, timeout_secs } => {
            let db = open(&config, Access::Shared).await?;
            let core = core_on(db, config)?;
            let started = Instant::now();
            let ids = enqueue_selftest(&core, count, work_ms).await?;
            let deadline = started + Duration::from_secs(timeout_secs);
            loop {
                let mut done = 0;
                let mut by_worker = std::collections::BTreeMap::<String, u32>::new();
                for id in &ids {
                    let j = jobs::get(&core.db, *id).await?;
                    if j.state == "done" {
                        done += 1;
                        *by_worker.entry(j.finished_by.unwrap_or_default()).or_default() += 1;
                    }
                }
                if done == ids.len() {
                    let secs = started.elapsed().as_secs_f64();
                    println!("{done} jobs done in {secs:.2}s ({:.0}/s)", done as f64 / secs);
                    for (w, n) in by_worker {
                        println!("  {w}: {n}");
                    }
                    return Ok(());
                }
                if Instant::now() > deadline {
                    bail!("only {done} of {} jobs done after {timeout_secs}s: are workers running?", ids.len());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

pub async fn enqueue_selftest(core: &Core, count: u32, work_ms: u64) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(count as usize);
    let now = core.now();
    let mut tx = core.db.begin().await?;
    for _ in 0..count {
        let job = NewJob::new(SELFTEST, &SelfTestPayload { work_ms }, now)?;
        if let Some(id) = jobs::enqueue(&mut tx, core, job, now).await? {
            ids.push(id);
        }
    }
    tx.commit().await?;
    Ok(ids)
}

async fn lifecycle_command(mut config: Config, as_of: Option<String>, demo: bool) -> anyhow::Result<()> {
    if demo {
        demo::use_demo_database(&mut config)?;
    }
    if as_of.is_some() && config.database.url.expose() != demo::DEMO_DB {
        bail!("--as-of runs only on the demo database ({}): elsewhere it would act early", demo::DEMO_DB);
    }
    // Shared: a running serve (SQLite) keeps its lock; the run's transactions are short.
    let db = open(&config, Access::Shared).await?;
    let core = core_on(db, config)?;
    let now = match as_of {
        None => core.now(),
        Some(day) => {
            let date: jiff::civil::Date = day.parse().with_context(|| format!("`{day}` is not a date (YYYY-MM-DD)"))?;
            let noon = date.at(12, 0, 0, 0).to_zoned(lantian_core::clock::china())?;
            lantian_core::UnixMs(noon.timestamp().as_millisecond())
        }
    };
    let report = provisioning::lifecycle::run(&core, now).await;
    println!(
        "renewal invoices: {}, reminders: {}, to suspend: {}, to terminate: {}",
        report.renewal_invoices, report.reminders, report.suspended, report.terminated
    );
    match report.failed.as_slice() {
        [] => Ok(()),
        failed => anyhow::bail!("these steps failed (see the log): {}", failed.join(", ")),
    }
}
