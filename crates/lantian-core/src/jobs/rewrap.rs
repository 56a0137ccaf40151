//! `keys.rewrap`: after `lantian keys rotate`, re-seals every encrypted value with the new
//! active key, in small batches, while the service runs. Resumable by construction: each
//! batch selects only values not yet sealed with the active key, and each update is
//! conditional on the old value, so a killed run simply continues where the rows say.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ClaimedJob, JobError, JobHandler, JobOutcome};
use crate::crypto::Aad;
use crate::{Core, on_read, on_tx};

pub const REWRAP: &str = "keys.rewrap";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewrapPayload {
    /// The key every value must end up sealed with.
    pub target_kid: String,
    pub batch: i64,
    /// Batches before the job yields its worker (it is queued again at once).
    pub batches_per_run: u32,
}

/// A sealed column: how to find values not under the active key, and how to replace one.
struct SealedColumn {
    table: &'static str,
    column: &'static str,
    /// Returns (row key as used in the AAD, sealed value); binds the active prefix's length
    /// and text, and the batch size.
    select: &'static str,
    /// Binds the new value, the row key and the old value.
    update: &'static str,
}

/// Every encrypted column of the product. An area that adds one adds it here.
const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "totp_factors",
        column: "secret",
        select: "SELECT subject_kind || ':' || CAST(subject_id AS TEXT), secret FROM totp_factors \
                 WHERE substr(secret, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE totp_factors SET secret = $1 WHERE subject_kind || ':' || CAST(subject_id AS TEXT) = $2 AND secret = $3",
    },
    SealedColumn {
        table: "staff",
        column: "phone",
        select: "SELECT 'staff:' || CAST(id AS TEXT), phone FROM staff \
                 WHERE phone IS NOT NULL AND substr(phone, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE staff SET phone = $1 WHERE 'staff:' || CAST(id AS TEXT) = $2 AND phone = $3",
    },
    SealedColumn {
        table: "customers",
        column: "phone",
        select: "SELECT 'customer:' || CAST(id AS TEXT), phone FROM customers \
                 WHERE phone IS NOT NULL AND substr(phone, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE customers SET phone = $1 WHERE 'customer:' || CAST(id AS TEXT) = $2 AND phone = $3",
    },
    SealedColumn {
        table: "real_name_records",
        column: "name_enc",
        select: "SELECT 'customer:' || CAST(customer_id AS TEXT), name_enc FROM real_name_records \
                 WHERE name_enc IS NOT NULL AND substr(name_enc, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE real_name_records SET name_enc = $1 \
                 WHERE 'customer:' || CAST(customer_id AS TEXT) = $2 AND name_enc = $3",
    },
    SealedColumn {
        table: "real_name_records",
        column: "number_enc",
        select: "SELECT 'customer:' || CAST(customer_id AS TEXT), number_enc FROM real_name_records \
                 WHERE number_enc IS NOT NULL AND substr(number_enc, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE real_name_records SET number_enc = $1 \
                 WHERE 'customer:' || CAST(customer_id AS TEXT) = $2 AND number_enc = $3",
    },
    SealedColumn {
        table: "guardian_consents",
        column: "guardian_name_enc",
        select: "SELECT 'customer:' || CAST(customer_id AS TEXT), guardian_name_enc FROM guardian_consents \
                 WHERE substr(guardian_name_enc, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE guardian_consents SET guardian_name_enc = $1 \
                 WHERE 'customer:' || CAST(customer_id AS TEXT) = $2 AND guardian_name_enc = $3",
    },
    SealedColumn {
        table: "guardian_consents",
        column: "document_enc",
        select: "SELECT 'customer:' || CAST(customer_id AS TEXT), document_enc FROM guardian_consents \
                 WHERE substr(document_enc, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE guardian_consents SET document_enc = $1 \
                 WHERE 'customer:' || CAST(customer_id AS TEXT) = $2 AND document_enc = $3",
    },
    SealedColumn {
        table: "services",
        column: "password_enc",
        select: "SELECT 'service:' || CAST(id AS TEXT), password_enc FROM services \
                 WHERE password_enc IS NOT NULL AND substr(password_enc, 1, $1) <> $2 LIMIT $3",
        update: "UPDATE services SET password_enc = $1 WHERE 'service:' || CAST(id AS TEXT) = $2 AND password_enc = $3",
    },
];

pub struct Rewrap;

#[async_trait]
impl JobHandler for Rewrap {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let p: RewrapPayload =
            serde_json::from_str(&job.payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        if core.keys.active_kid() != p.target_kid {
            // This process started before the rotation: it does not hold the new key yet.
            return Err(JobError::Retry(format!(
                "this process's active key is {}, not {}: restart it to load the rotated key file",
                core.keys.active_kid(),
                p.target_kid
            )));
        }
        let prefix = core.keys.active_prefix();
        let prefix_len = i32::try_from(prefix.len()).unwrap_or(0);
        for _ in 0..p.batches_per_run.max(1) {
            let mut moved = 0;
            for col in SEALED {
                let rows: Vec<(String, String)> = on_read!(&core.db, c => sqlx::query_as(col.select)
                    .bind(prefix_len).bind(&prefix).bind(p.batch.clamp(1, 10_000)).fetch_all(c).await)?;
                let mut tx = core.db.begin().await?;
                for (row, old) in &rows {
                    let aad = Aad { table: col.table, column: col.column, row };
                    let plain = core
                        .keys
                        .open(old, aad)
                        .map_err(|e| JobError::Permanent(format!("{}.{} of {row}: {e}", col.table, col.column)))?;
                    let new = core.keys.seal(&plain, aad);
                    on_tx!(&mut tx, c => sqlx::query(col.update).bind(&new).bind(row).bind(old).execute(c).await?.rows_affected());
                }
                tx.commit().await?;
                moved += rows.len();
            }
            if moved == 0 {
                return Ok(JobOutcome::Done);
            }
        }
        Ok(JobOutcome::ParkUntil(core.now()))
    }
}
