//! The audit trail: staff actions, system actions and security events, written in the same
//! transaction as the act. Rows hold ids and field names, never personal values, so erasing a
//! customer never has to touch the trail. Each row's hash covers the previous row's hash; the
//! single head row moves on every append, so the chain never forks. Nothing in the product
//! edits or deletes a row (and the database refuses it with a trigger).

mod repo;

use sha2::{Digest, Sha256};

pub use repo::{AuditFilter, AuditRow};

use crate::authz::{Permission, Principal};
use crate::crypto::token::hex;
use crate::db::{Db, Tx};
use crate::{Result, UnixMs};

/// What happened, to what, touching which fields.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Stable dotted name, e.g. `staff.deactivate`, `personal_data.reveal`.
    pub action: &'a str,
    /// e.g. `("staff", "7")`.
    pub target: Option<(&'a str, String)>,
    /// Names of the fields read or changed (never their values).
    pub fields: &'a [&'a str],
    /// Why, where the act needs a reason (a reveal). Staff are asked not to write personal data.
    pub reason: Option<&'a str>,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str) -> Self {
        Event { action, target: None, fields: &[], reason: None }
    }
    pub fn target(mut self, kind: &'a str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }
    pub fn fields(mut self, fields: &'a [&'a str]) -> Self {
        self.fields = fields;
        self
    }
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// Appends one row to the chain inside the caller's transaction.
pub async fn record(
    tx: &mut Tx,
    actor: &Principal,
    request_id: Option<&str>,
    ev: Event<'_>,
    now: UnixMs,
) -> Result<i64> {
    let (seq, prev) = repo::advance_head(tx).await?;
    let (actor_kind, actor_id) = match actor {
        Principal::Customer(id) => ("customer", Some(*id)),
        Principal::Staff { id, .. } => ("staff", Some(*id)),
        Principal::System => ("system", None),
    };
    let row = AuditRow {
        seq,
        at: now,
        actor_kind: actor_kind.to_string(),
        actor_id,
        action: ev.action.to_string(),
        target_kind: ev.target.as_ref().map(|t| t.0.to_string()),
        target_id: ev.target.map(|t| t.1),
        fields: ev.fields.join(","),
        reason: ev.reason.map(str::to_string),
        request_id: request_id.map(str::to_string),
        prev_hash: prev,
        hash: String::new(),
    };
    let hash = row.compute_hash();
    repo::insert(tx, &row, &hash).await?;
    repo::set_head_hash(tx, &hash).await?;
    Ok(seq)
}

impl AuditRow {
    /// SHA-256 over every field and the previous hash, unambiguously separated.
    pub fn compute_hash(&self) -> String {
        let parts = [
            self.seq.to_string(),
            self.at.0.to_string(),
            self.actor_kind.clone(),
            self.actor_id.map(|i| i.to_string()).unwrap_or_default(),
            self.action.clone(),
            self.target_kind.clone().unwrap_or_default(),
            self.target_id.clone().unwrap_or_default(),
            self.fields.clone(),
            self.reason.clone().unwrap_or_default(),
            self.request_id.clone().unwrap_or_default(),
            self.prev_hash.clone(),
        ];
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        rows: u64,
    },
    /// The first row that does not fit, and why.
    Broken {
        seq: i64,
        why: String,
    },
}

/// Walks the chain from the first row, in batches, and reports the first break: an edited
/// row, a removed row, a reordered row, or a head that does not match the last row.
pub async fn verify(db: &Db) -> Result<Verdict> {
    let mut prev = repo::GENESIS.to_string();
    let mut expected = 1i64;
    let mut rows = 0u64;
    loop {
        let batch = repo::page(db, expected - 1, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            if row.seq != expected {
                return Ok(Verdict::Broken { seq: expected, why: format!("row {expected} is missing") });
            }
            if row.prev_hash != prev {
                return Ok(Verdict::Broken { seq: row.seq, why: "does not follow the row before it".into() });
            }
            if row.compute_hash() != row.hash {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    why: "its content was changed after it was written".into(),
                });
            }
            prev = row.hash;
            expected += 1;
            rows += 1;
        }
    }
    let (head_seq, head_hash) = repo::head(db).await?;
    if head_seq != expected - 1 || head_hash != prev {
        return Ok(Verdict::Broken {
            seq: expected,
            why: format!("the chain head expects {head_seq} rows ending elsewhere"),
        });
    }
    Ok(Verdict::Intact { rows })
}

/// The console's view: filtered, newest first. Only roles with `AuditRead`.
pub async fn list(db: &Db, who: &Principal, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
    who.require(Permission::AuditRead)?;
    Ok(repo::list(db, filter).await?)
}
