//! Forward-only migrations, paired per backend (`migrations/sqlite`, `migrations/postgres`,
//! same numbers, same meaning), run at start-up.

use sqlx::migrate::Migrator;

use super::Db;
use crate::on_read;

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Highest version applied to the database (0 for a new one).
    pub applied: i64,
    /// Highest version this binary knows.
    pub known: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the database schema is at version {applied}, newer than this binary knows ({known}); \
         run the newer Lantian release that migrated it, or restore a backup"
    )]
    SchemaNewer { applied: i64, known: i64 },
    #[error("migration failed: {0}")]
    Failed(#[from] sqlx::migrate::MigrateError),
    #[error("database error while checking migrations: {0}")]
    Database(#[from] sqlx::Error),
}

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite(_) => &SQLITE,
        Db::Pg(_) => &POSTGRES,
    }
}

pub async fn migration_status(db: &Db) -> Result<MigrationStatus, MigrateError> {
    let known = migrator(db).iter().map(|m| m.version).max().unwrap_or(0);
    // The bookkeeping table does not exist before the first migration.
    let exists: bool = match db {
        Db::Sqlite(s) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(&s.reader)
            .await?
        }
        Db::Pg(p) => sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(p).await?,
    };
    let applied: i64 = if exists {
        on_read!(db, c => sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(c)
            .await?)
    } else {
        0
    };
    Ok(MigrationStatus { applied, known })
}

/// Brings the schema up to date; refuses a schema newer than this binary.
pub async fn migrate(db: &Db) -> Result<MigrationStatus, MigrateError> {
    let status = migration_status(db).await?;
    if status.applied > status.known {
        return Err(MigrateError::SchemaNewer { applied: status.applied, known: status.known });
    }
    match db {
        Db::Sqlite(s) => SQLITE.run(&s.writer).await?,
        Db::Pg(p) => POSTGRES.run(p).await?,
    }
    Ok(MigrationStatus { applied: status.known, known: status.known })
}
