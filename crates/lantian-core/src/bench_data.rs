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
/// `bench` with a live session and `scale` paid invoices.
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
    let bought = invoices(core, id, scale).await?;
    Ok(Generated { rows: rows + 1 + bought, session })
}

/// `n` paid balance top-ups of the customer, each an order, an invoice with its line and a ledger row: the
/// invoice and ledger pages then list from a long history.
async fn invoices(core: &Core, customer_id: i64, n: u32) -> Result<u64> {
    use crate::billing::repo::{self, LedgerEntry, NewInvoice, NewLine, NewOrder};
    let now = core.now();
    let mut tx = core.db.begin().await?;
    let account = repo::ensure_account(&mut tx, customer_id, "ABENCH0000000", now).await?;
    for i in 1..=i64::from(n) {
        let order = NewOrder::top_up(&account, 100);
        let order_id = repo::insert_order(&mut tx, &order, now).await?;
        let invoice = NewInvoice {
            number: format!("BENCH-{i:06}"),
            account: &account,
            kind: "top_up",
            buyer_username: "bench",
            item_zh: "账户余额充值",
            item_en: "Balance top-up",
            price_fen: 100,
            discount_fen: 0,
            amount_fen: 100,
        };
        let line = NewLine {
            order_id,
            item_zh: invoice.item_zh.into(),
            item_en: invoice.item_en.into(),
            price_fen: 100,
            discount_fen: 0,
        };
        let invoice_id = repo::insert_invoices(&mut tx, &[(invoice, vec![line])], now).await?[0];
        repo::mark_invoice_paid(&mut tx, invoice_id, "gateway", now).await?;
        let balance_after = repo::move_balance(&mut tx, &account, 100).await?.unwrap_or_default();
        let entry = LedgerEntry {
            account: &account,
            kind: "top_up",
            amount_fen: 100,
            balance_after,
            invoice_id: Some(invoice_id),
            staff_id: None,
            reason: None,
        };
        repo::insert_ledger(&mut tx, &entry, now).await?;
    }
    tx.commit().await?;
    Ok(u64::from(n) * 4)
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
